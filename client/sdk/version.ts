/** The SDK's major version: the path it is served under (/sdk/v1/) changes only with it. */
export const SDK_VERSION = '1';
