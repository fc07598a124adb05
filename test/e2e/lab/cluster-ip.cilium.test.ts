/**
 * @lab cilium/3
 */
import { clusterIpSuite } from './cluster-ip.suite.ts';

clusterIpSuite();
