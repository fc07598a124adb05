import * as api from '../../harness/index.ts';
import { defineScenario } from '../../harness/engine/scenario.ts';

// What `import ... from 'kube-traffic-harness'` gives at run time: changing it is a change users see.
describe("the package entry ('kube-traffic-harness')", () => {
  it('THEN its runtime exports are exactly these', () => {
    expect(Object.keys(api).sort()).toEqual(['ExitCode', 'defineScenario', 'reportSchemaVersion']);
  });

  it('THEN defineScenario is the one the loader uses: scenarios importing either get the same', () => {
    expect(api.defineScenario).toBe(defineScenario);
  });
});
