export { createImageServer, ImageServer } from './image-server.js';
export type { ImageServerOptions, ImageServerState } from './image-server.js';
export { HttpError, ImageServerOptionError } from './errors.js';
export { IMAGE_SERVER_DEFAULTS } from './server-options.js';
export type { ValidationIssue } from './errors.js';
export { parseImagesRequest } from './images-request.js';
export type { ImagesRequestLimits } from './images-request.js';
