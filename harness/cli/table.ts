import Table from 'cli-table3';

/** A table for terminal output: coloured headers on a TTY, plain text in logs and pipes. */
export function textTable(head: string[], options: { colWidths?: number[]; wordWrap?: boolean } = {}): InstanceType<typeof Table> {
  const plain = !process.stdout.isTTY || process.env.NO_COLOR !== undefined;
  return new Table({ head, ...options, ...(plain ? { style: { head: [], border: [] } } : {}) });
}
