export interface Command {
  name: string;
  usage: string;
  summary: string;
  help?: string;
  run(args: string[]): Promise<number>;
}
