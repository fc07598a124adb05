/**
 * @lab cilium/3
 */
import { externalTrafficSuite } from './external-traffic.suite.ts';

externalTrafficSuite();
