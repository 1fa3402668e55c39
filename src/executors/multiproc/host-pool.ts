/**
 * A fixed set of members handed out one job at a time: a job waits for the first idle member,
 * and waiting jobs are served first come, first served.
 */
export class HostPool<T> {
  readonly #idle: T[];
  readonly #waiting: Array<(member: T) => void> = [];

  constructor(members: readonly T[]) {
    if (members.length === 0) throw new RangeError('HostPool needs at least one member.');
    this.#idle = [...members];
  }

  /** Runs `job` on the first idle member and gives the member back when the job settles. */
  async use<R>(job: (member: T) => Promise<R>): Promise<R> {
    const member = await this.#acquire();
    try {
      return await job(member);
    } finally {
      this.#release(member);
    }
  }

  #acquire(): Promise<T> {
    const member = this.#idle.shift();
    if (member !== undefined) return Promise.resolve(member);
    return new Promise<T>((resolve) => this.#waiting.push(resolve));
  }

  #release(member: T): void {
    const next = this.#waiting.shift();
    if (next) next(member);
    else this.#idle.push(member);
  }
}
