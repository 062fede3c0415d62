// A dataset row as the editor reads it (a record, its place `path:line`, the config's column mapping) and the
// error a bad row or file raises: the shapes every reader and row format shares (datasetRows reads files
// into rows, rowFormats turns rows into conversations).

export type Role = 'system' | 'user' | 'assistant';

export interface ChatMessage {
  role: Role;
  content: string;
}

/** A bad dataset row or file: `message` names file:line, `hint` says what to change. */
export class DataError extends Error {
  constructor(
    message: string,
    readonly hint = 'Fix the row or remove it from the file.',
  ) {
    super(message);
    this.name = 'DataError';
  }
}

/** One record of a data file, read through the config's column mapping. */
export class Row {
  constructor(
    /** `path:line`, the prefix of every message about this row. */
    readonly where: string,
    readonly data: Record<string, unknown>,
    readonly mapping: Readonly<Record<string, string>> = {},
    /** Which of the config's training sources the row came from (its place in train_files); its format follows. */
    readonly source = 0,
  ) {}

  /** 1-based line in the file. */
  get line(): number {
    return Number(this.where.slice(this.where.lastIndexOf(':') + 1));
  }

  column(name: string): string {
    return this.mapping[name] ?? name;
  }

  get(name: string): unknown {
    return this.data[this.column(name)];
  }

  missing(name: string): DataError {
    const column = this.column(name);
    if (column !== name) {
      return new DataError(
        `${this.where}: missing field \`${column}\` (column_mapping reads \`${name}\` from it)`,
        `Add \`${column}\` to the row, or fix \`column_mapping\` in the config.`,
      );
    }
    return new DataError(
      `${this.where}: missing field \`${name}\``,
      `Add \`${name}\` to the row, map another column to it with \`column_mapping\`, or check \`dataset_format\` in the config.`,
    );
  }
}
