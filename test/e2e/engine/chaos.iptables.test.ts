/**
 * @lab iptables/3
 */
import { chaosSuite } from './chaos.suite.ts';

chaosSuite();
