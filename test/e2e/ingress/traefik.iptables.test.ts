/**
 * @lab iptables/3
 */
import { traefikSuite } from './traefik.suite.ts';

traefikSuite();
