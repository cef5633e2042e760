export * from './transport.js';
export { TcpTransport } from './tcp-transport.js';
export { parseMessage, isParseError, parseLimits, type ParseError } from './parse-message.js';
