/** The lab's wire protocol, shared by the server and the web app. See docs/protocol.md. */
export * from './bundle.ts';
export * from './defaults.ts';
export * from './exercises.ts';
export * from './frame.ts';
export * from './json.ts';
export * from './limits.ts';
export * from './messages.ts';
export * from './validate.ts';
