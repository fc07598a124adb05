import type { RequestSample } from '../recorder/events.ts';

/**
 * Share of responses where the server saw the client's own source address (no SNAT on the path).
 * Only responses where both addresses were known count. Null when none could be checked.
 */
export function sourceIpPreservedRatio(samples: Iterable<Pick<RequestSample, 'peerChecked' | 'peerPreserved'>>): number | null {
  let checked = 0;
  let preserved = 0;
  for (const sample of samples) {
    checked += sample.peerChecked;
    preserved += sample.peerPreserved;
  }
  return checked === 0 ? null : preserved / checked;
}

export interface CrossNodeResult {
  /** Responses served on a node other than the one the request entered; null when no entry node was known. */
  ratio: number | null;
  crossNode: number;
  /** Responses whose entry node and serving node were both known. */
  known: number;
  /** Responses skipped because the entry node or the serving node was unknown. */
  unknown: number;
}

/**
 * Cross-node hop ratio. `entryNodeOf(via)` names the node a request entered through: for a
 * NodePort/LB address, the node owning it; for in-cluster clients, the client pod's node (a
 * constant function). Undefined means unknown.
 */
export function crossNodeRatio(samples: Iterable<Pick<RequestSample, 'via' | 'node' | 'requests'>>, entryNodeOf: (via: string) => string | undefined): CrossNodeResult {
  let crossNode = 0;
  let known = 0;
  let unknown = 0;
  for (const sample of samples) {
    const entry = entryNodeOf(sample.via);
    if (!entry || !sample.node) {
      unknown += sample.requests;
      continue;
    }
    known += sample.requests;
    if (entry !== sample.node) crossNode += sample.requests;
  }
  return { ratio: known === 0 ? null : crossNode / known, crossNode, known, unknown };
}
