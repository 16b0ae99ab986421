import { OptionsError, PRECEDENCE, renderHelp, type OptionTable, type OptionValues, type ParsedOptions } from './option-table.js';

/**
 * The configuration of a process entry point from its flags and environment: with `--help`, prints
 * the generated help and exits 0; on a bad or missing option, prints every problem (each naming the
 * flag and the variable) and exits 2.
 */
export function parseOrExit<T extends OptionTable>(
  program: string,
  table: T,
  parse: (argv: readonly string[], env: Readonly<Record<string, string | undefined>>) => ParsedOptions<T>,
  usage: string,
): OptionValues<T> {
  try {
    const parsed = parse(process.argv.slice(2), process.env);
    if (parsed.help) {
      process.stdout.write(renderHelp(table, { usage, footer: PRECEDENCE }));
      process.exit(0);
    }
    return parsed.values;
  } catch (err) {
    if (!(err instanceof OptionsError)) throw err;
    for (const problem of err.problems) console.error(`${program}: ${problem}`);
    console.error(`${program}: see --help for every option`);
    process.exit(2);
  }
}
