/**
 * @lab iptables/3
 */
import { chaosSuite } from './chaos.suite.ts';

// The Go servers here (the Node.js ones on the cilium lab): also issue 14's acceptance for these
// two scenarios, which builtin-scenarios-go.test.ts therefore does not run again.
chaosSuite({ runtime: 'go' });
