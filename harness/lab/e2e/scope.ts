/**
 * What `kth lab e2e` runs by default: issue #12's scope, the sig-network tests of Services,
 * EndpointSlices and the Services granular checks (the trailing space keeps EndpointSliceMirroring
 * out). Matched against full test names as `e2e.test --list-tests` prints them.
 */
export const DEFAULT_FOCUS = String.raw`^\[sig-network\] (Services|EndpointSlice|Networking Granular Checks: Services) `;
