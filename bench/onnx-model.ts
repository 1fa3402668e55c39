/**
 * Builds one-node ONNX models at run time, so the benchmark can run the same op on
 * onnxruntime-web without shipping model files. Only the protobuf fields a single-node
 * float32 graph needs are written.
 */

class ProtoWriter {
  readonly bytes: number[] = [];

  varint(v: number | bigint): this {
    let x = BigInt.asUintN(64, BigInt(v));
    while (x >= 0x80n) {
      this.bytes.push(Number(x & 0x7fn) | 0x80);
      x >>= 7n;
    }
    this.bytes.push(Number(x));
    return this;
  }

  tag(field: number, wire: 0 | 2 | 5): this {
    return this.varint((field << 3) | wire);
  }

  int(field: number, v: number): this {
    return this.tag(field, 0).varint(v);
  }

  float(field: number, v: number): this {
    const b = new Uint8Array(new Float32Array([v]).buffer);
    this.tag(field, 5);
    this.bytes.push(...b);
    return this;
  }

  bytesField(field: number, data: Uint8Array | number[]): this {
    this.tag(field, 2).varint(data.length);
    for (let i = 0; i < data.length; i++) this.bytes.push(data[i]!);
    return this;
  }

  string(field: number, s: string): this {
    return this.bytesField(field, new TextEncoder().encode(s));
  }

  message(field: number, build: (w: ProtoWriter) => void): this {
    const inner = new ProtoWriter();
    build(inner);
    return this.bytesField(field, inner.bytes);
  }
}

/** An ONNX attribute value: int, float, int list or string. */
export type OnnxAttribute = number | number[] | string | { float: number };

export interface OnnxNodeSpec {
  opType: string;
  domain?: string;
  attributes?: Record<string, OnnxAttribute>;
  /** Graph inputs fed at run time, with their shapes. */
  inputs: Array<{ name: string; shape: number[] }>;
  /** Constant inputs stored in the model. */
  initializers?: Array<{ name: string; shape: number[]; data: Float32Array }>;
  /** Node input order; names refer to inputs or initializers, "" for an omitted optional input. */
  nodeInputs: string[];
  output: { name: string; shape: number[] };
  opset?: number;
}

const FLOAT = 1;

function valueInfo(w: ProtoWriter, name: string, shape: number[]): void {
  w.string(1, name).message(2, (type) =>
    type.message(1, (tensor) => tensor.int(1, FLOAT).message(2, (s) => shape.forEach((d) => s.message(1, (dim) => dim.int(1, d))))),
  );
}

/** Serialises a single-node float32 ONNX model. */
export function buildOnnxModel(spec: OnnxNodeSpec): Uint8Array {
  const w = new ProtoWriter();
  w.int(1, 8).string(2, 'omni-diffusion-bench');
  w.message(7, (g) => {
    g.message(1, (n) => {
      spec.nodeInputs.forEach((i) => n.string(1, i));
      n.string(2, spec.output.name).string(3, 'op').string(4, spec.opType);
      if (spec.domain) n.string(7, spec.domain);
      for (const [name, value] of Object.entries(spec.attributes ?? {})) {
        n.message(5, (a) => {
          a.string(1, name);
          if (typeof value === 'string') a.string(4, value).int(20, 3);
          else if (Array.isArray(value)) {
            value.forEach((v) => a.int(8, v));
            a.int(20, 7);
          } else if (typeof value === 'object') a.float(2, value.float).int(20, 1);
          else a.int(3, value).int(20, 2);
        });
      }
    });
    g.string(2, 'bench');
    for (const init of spec.initializers ?? []) {
      g.message(5, (t) => {
        init.shape.forEach((d) => t.int(1, d));
        t.int(2, FLOAT).string(8, init.name).bytesField(9, new Uint8Array(init.data.buffer, init.data.byteOffset, init.data.byteLength));
      });
    }
    for (const input of spec.inputs) g.message(11, (v) => valueInfo(v, input.name, input.shape));
    g.message(12, (v) => valueInfo(v, spec.output.name, spec.output.shape));
  });
  w.message(8, (o) => o.string(1, '').int(2, spec.opset ?? 17));
  if (spec.domain) w.message(8, (o) => o.string(1, spec.domain!).int(2, 1));
  return Uint8Array.from(w.bytes);
}
