// No container engine runs on our machines, so the Dockerfile is checked the strongest way
// left: parse it, then carry out its own COPY, RUN, WORKDIR and ENV steps, stage by stage, and
// hand back the final stage's tree with its ENTRYPOINT, USER and ENV. Only what the Dockerfile
// says is done; nothing is added, so a broken step breaks the rehearsal.
//
// Each stage's filesystem is this machine's root (Debian bookworm, as the node:24-bookworm-slim
// base is) under an overlay whose upper layer is the stage's own directory: RUN steps run
// chrooted into that overlay in a private mount namespace, so `apt-get install` or `rm -rf
// /var/lib/apt/lists/*` change the stage, never this machine. Packages this machine has but the
// base image lacks are purged from the stand-in base first (`absentFromBase`), so a step that
// needs them must really install them. RUN steps run as the stage's USER, as Docker does.
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join, posix } from 'node:path';
import { type Copy, DockerfileParser, type Env, type JSONInstruction, type Label } from 'dockerfile-ast';

export interface Rehearsal {
  /** The final stage's WORKDIR, as rebuilt on disk (in the stage's own layer). */
  root: string;
  /** The final stage's WORKDIR inside the image (e.g. /app). */
  workdir: string;
  baseImages: string[];
  entrypoint: string[];
  cmd: string[];
  user: string;
  env: Record<string, string>;
  labels: Record<string, string>;
  /**
   * Runs a shell command inside the final stage's whole filesystem (the stand-in base plus every step), as root
   * unless `user` (uid:gid) is given, with the image's ENV; returns its stdout. Throws when it fails.
   */
  exec(script: string, options?: { user?: string }): string;
}

export interface RehearsalOptions {
  /** Debian packages this machine has and the base image does not; removed from the stand-in base. */
  absentFromBase?: readonly string[];
}

interface Stage {
  name: string;
  workdir: string;
  /** The overlay's upper directory: everything this stage changed, laid out as a root filesystem. */
  layer: string;
  /** The overlay's work directory and mount point (outside the layer, as overlayfs requires). */
  overlayWork: string;
  mountPoint: string;
  env: Record<string, string>;
  user: string;
}

// Mounts the stage's overlay over this machine's root and runs "$5" with /bin/sh in it, in
// directory "$4", as user "$6" (uid:gid or root). Runs inside `unshare --mount`, so every mount
// here disappears with the process.
const IN_STAGE = `set -e
mount -t overlay overlay -o "lowerdir=/,upperdir=$1,workdir=$2" "$3"
mount --rbind /dev "$3/dev"
mount -t proc proc "$3/proc"
if [ "$6" = root ] || [ "$6" = 0 ] || [ "$6" = 0:0 ]; then userspec=; else userspec="--userspec=$6"; fi
exec chroot $userspec "$3" /bin/sh -c 'cd "$1" && exec /bin/sh -c "$2"' sh "$4" "$5"`;

function runInStage(
  stage: Stage,
  script: string,
  env: Record<string, string>,
  user: string,
  stdio: 'capture' | 'inherit-errors',
): string {
  const out = execFileSync(
    'unshare',
    [
      '--mount',
      '--fork',
      '/bin/sh',
      '-c',
      IN_STAGE,
      'sh',
      stage.layer,
      stage.overlayWork,
      stage.mountPoint,
      stage.workdir,
      script,
      user,
    ],
    {
      env,
      stdio: ['ignore', stdio === 'capture' ? 'pipe' : 'ignore', stdio === 'capture' ? 'pipe' : 'inherit'],
      maxBuffer: 64 * 1024 * 1024,
    },
  );
  return out ? out.toString() : '';
}

/** Carries out the Dockerfile in `context` under `scratch`; `nodeBinDir` holds the base image's Node. */
export function rehearse(
  context: string,
  scratch: string,
  nodeBinDir: string,
  options: RehearsalOptions = {},
): Rehearsal {
  const dockerfile = DockerfileParser.parse(readFileSync(join(context, 'Dockerfile'), 'utf8'));
  const globalArgs: Record<string, string> = {};
  let args: Record<string, string> = {};
  const stages: Stage[] = [];
  const result: Omit<Rehearsal, 'root' | 'workdir' | 'exec'> = {
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
  // Maps a path inside a stage's image onto that stage's layer.
  const inLayer = (s: Stage, path: string): string => join(s.layer, posix.resolve(s.workdir, path));
  // A path of another stage, for COPY --from: its layer if the stage made it, else the base.
  const inStageFs = (s: Stage, path: string): string => {
    const layered = inLayer(s, path);
    return existsSync(layered) ? layered : posix.resolve(s.workdir, path);
  };
  // The base image's PATH, with its Node first.
  const stageEnv = (s: Stage): Record<string, string> => ({
    ...process.env,
    ...s.env,
    PATH: `${nodeBinDir}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`,
  });

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
        const dir = join(scratch, name);
        stage = {
          name,
          workdir: '/',
          layer: join(dir, 'layer'),
          overlayWork: join(dir, 'overlay-work'),
          mountPoint: join(dir, 'mnt'),
          env: {},
          user: 'root',
        };
        for (const d of [stage.layer, stage.overlayWork, stage.mountPoint]) mkdirSync(d, { recursive: true });
        stages.push(stage);
        if (options.absentFromBase?.length) {
          const purge = options.absentFromBase
            .map(
              (p) =>
                `if dpkg-query -W -f='\${Status}' ${p} 2>/dev/null | grep -q 'ok installed'; then echo ${p}; fi`,
            )
            .join('; ');
          runInStage(
            stage,
            `pkgs=$(${purge}); [ -z "$pkgs" ] || dpkg --purge --force-depends $pkgs >/dev/null`,
            stageEnv(stage),
            'root',
            'inherit-errors',
          );
        }
        result.user = 'root';
        result.env = {};
        result.labels = {};
        break;
      }
      case 'WORKDIR':
        if (!stage) throw new Error('WORKDIR before FROM');
        stage.workdir = posix.resolve(stage.workdir, values[0] ?? '/');
        mkdirSync(inLayer(stage, '.'), { recursive: true });
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
          const path = source ? inStageFs(source, src) : join(context, src);
          const target = dest.endsWith('/')
            ? join(inLayer(stage!, dest), posix.basename(src))
            : inLayer(stage!, dest);
          mkdirSync(dirname(target), { recursive: true });
          cpSync(path, target, { recursive: true });
        }
        break;
      }
      case 'RUN':
        // Docker's shell form is /bin/sh -c (dash on Debian bases), not bash.
        runInStage(
          stage!,
          instruction.getRawArgumentsContent() ?? '',
          stageEnv(stage!),
          stage!.user,
          'inherit-errors',
        );
        break;
      case 'USER':
        result.user = values[0] ?? 'root';
        stage!.user = result.user;
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
  return {
    ...result,
    root: inLayer(last, '.'),
    workdir: last.workdir,
    exec: (script, execOptions = {}) =>
      runInStage(last, script, stageEnv(last), execOptions.user ?? 'root', 'capture'),
  };
}
