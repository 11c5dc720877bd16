// No container engine runs on our machines, so the Dockerfile is checked the strongest way
// left: parse it, then carry out its own COPY, RUN, WORKDIR and ENV steps, stage by stage, in
// scratch directories standing in for each stage's filesystem, and hand back the final stage's
// tree with its ENTRYPOINT, USER and ENV. Only what the Dockerfile says is done; nothing is
// added, so a broken step breaks the rehearsal.
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join, posix } from 'node:path';
import { type Copy, DockerfileParser, type Env, type JSONInstruction, type Label } from 'dockerfile-ast';

export interface Rehearsal {
  /** The final stage's WORKDIR, as rebuilt on disk. */
  root: string;
  /** The final stage's WORKDIR inside the image (e.g. /app). */
  workdir: string;
  baseImages: string[];
  entrypoint: string[];
  cmd: string[];
  user: string;
  env: Record<string, string>;
  labels: Record<string, string>;
}

interface Stage {
  name: string;
  workdir: string;
  dir: string;
  env: Record<string, string>;
}

/** Carries out the Dockerfile in `context` under `scratch`; `nodeBinDir` holds the base image's Node. */
export function rehearse(context: string, scratch: string, nodeBinDir: string): Rehearsal {
  const dockerfile = DockerfileParser.parse(readFileSync(join(context, 'Dockerfile'), 'utf8'));
  const globalArgs: Record<string, string> = {};
  let args: Record<string, string> = {};
  const stages: Stage[] = [];
  const result: Omit<Rehearsal, 'root' | 'workdir'> = {
    baseImages: [],
    entrypoint: [],
    cmd: [],
    user: 'root',
    env: {},
    labels: {},
  };
  const expand = (text: string): string =>
    text.replace(
      /\$\{(\w+)\}|\$(\w+)/g,
      (_, a: string | undefined, b: string | undefined) => args[a ?? b ?? ''] ?? '',
    );
  let stage: Stage | undefined;
  // Maps a path inside the current stage's image onto its scratch directory.
  const inStage = (s: Stage, path: string): string =>
    join(s.dir, posix.relative(s.workdir, posix.resolve(s.workdir, path)));

  for (const instruction of dockerfile.getInstructions()) {
    const keyword = instruction.getKeyword();
    const values = instruction.getArguments().map((a) => a.getValue());
    switch (keyword) {
      case 'ARG': {
        // Before the first FROM an ARG serves FROM lines only; inside a stage it is that stage's,
        // and a bare `ARG NAME` there takes the global default.
        const [name = '', value] = (values[0] ?? '').split('=');
        if (!stage) globalArgs[name] = value ?? '';
        else args[name] = value ?? globalArgs[name] ?? '';
        break;
      }
      case 'FROM': {
        const name = values[2] ?? `stage-${stages.length}`;
        args = { ...globalArgs };
        result.baseImages.push(expand(values[0] ?? ''));
        args = {};
        stage = { name, workdir: '/', dir: join(scratch, name), env: {} };
        mkdirSync(stage.dir, { recursive: true });
        stages.push(stage);
        result.user = 'root';
        result.env = {};
        result.labels = {};
        break;
      }
      case 'WORKDIR':
        if (!stage) throw new Error('WORKDIR before FROM');
        stage.workdir = posix.resolve(stage.workdir, values[0] ?? '/');
        break;
      case 'ENV':
        for (const p of (instruction as Env).getProperties()) {
          stage!.env[p.getName()] = expand((p.getValue() ?? '').replace(/^"(.*)"$/, '$1'));
        }
        result.env = { ...stage!.env };
        break;
      case 'LABEL':
        for (const p of (instruction as Label).getProperties()) {
          result.labels[p.getName()] = expand((p.getValue() ?? '').replace(/^"(.*)"$/, '$1'));
        }
        break;
      case 'COPY': {
        const from = (instruction as Copy).getFromFlag()?.getValue();
        const sources = values.filter((v) => !v.startsWith('--')).slice(0, -1);
        const dest = values[values.length - 1] ?? '.';
        const source = from ? stages.find((s) => s.name === from) : undefined;
        if (from && !source) throw new Error(`COPY --from=${from}: no such stage`);
        for (const src of sources) {
          const path = source ? inStage(source, src) : join(context, src);
          const target = dest.endsWith('/')
            ? join(inStage(stage!, dest), posix.basename(src))
            : inStage(stage!, dest);
          mkdirSync(dirname(target), { recursive: true });
          cpSync(path, target, { recursive: true });
        }
        break;
      }
      case 'RUN':
        // Docker's shell form is /bin/sh -c (dash on Debian bases), not bash.
        execFileSync('/bin/sh', ['-c', instruction.getRawArgumentsContent() ?? ''], {
          cwd: inStage(stage!, '.'),
          env: { ...process.env, ...stage!.env, PATH: `${nodeBinDir}:${process.env.PATH}` },
          stdio: ['ignore', 'ignore', 'inherit'],
        });
        break;
      case 'USER':
        result.user = values[0] ?? 'root';
        break;
      case 'ENTRYPOINT':
      case 'CMD': {
        const json = (instruction as JSONInstruction).getJSONStrings().map((s) => s.getJSONValue());
        if (json.length === 0) throw new Error(`${keyword} must use the exec (JSON) form`);
        if (keyword === 'ENTRYPOINT') result.entrypoint = json;
        else result.cmd = json;
        break;
      }
      default:
        throw new Error(`the rehearsal does not know ${keyword}; teach it before using it`);
    }
  }
  const last = stages[stages.length - 1];
  if (!last) throw new Error('no FROM');
  return { ...result, root: last.dir, workdir: last.workdir };
}
