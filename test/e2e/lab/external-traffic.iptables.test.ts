/**
 * @lab iptables/3
 */
import { externalTrafficSuite } from './external-traffic.suite.ts';

externalTrafficSuite();
