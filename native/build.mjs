// `npm run build:native`: builds the native kernels addon with node-gyp and copies it next to the
// compiled kernels, or says why it could not and leaves the WebAssembly kernels to run. It never
// fails the build: a machine without a C++ compiler or OpenBLAS still builds and runs the service.
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const nativeDir = dirname(fileURLToPath(import.meta.url));
const built = join(nativeDir, 'build', 'Release', 'mlp_kernels.node');
const target = join(nativeDir, '..', 'dist', 'src', 'kernels', 'mlp-kernels.node');
// Node's own headers where the runtime ships them (Debian, nodesource and the official images do),
// so node-gyp never downloads them.
const nodeDir = dirname(dirname(process.execPath));
const nodeDirArgs = existsSync(join(nodeDir, 'include', 'node', 'node_api.h')) ? [`--nodedir=${nodeDir}`] : [];

// npm tells its scripts where its bundled node-gyp is; run by hand, this looks where npm is installed.
const nodeGypScript = process.env.npm_config_node_gyp ?? join(nodeDir, 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js');

function nodeGyp(command) {
  return spawnSync(process.execPath, [nodeGypScript, command, ...nodeDirArgs], { cwd: nativeDir, encoding: 'utf8' });
}

const configured = existsSync(join(nativeDir, 'build', 'Makefile')) || nodeGyp('configure');
const result = configured === true || configured.status === 0 ? nodeGyp('build') : configured;
if (result.status === 0) {
  mkdirSync(dirname(target), { recursive: true });
  copyFileSync(built, target);
  console.log(`native kernels: built ${target}`);
} else {
  const output = `${result.stdout ?? ''}${result.stderr ?? ''}${result.error ? String(result.error) : ''}`;
  const reason = output.split('\n').find((line) => /error|not found|No such file/i.test(line)) ?? output.trim().split('\n').pop();
  console.log(`native kernels: not built (${reason?.trim() ?? 'node-gyp failed'}); the WebAssembly kernels will run instead`);
  console.log('  they need a C++ compiler, make, python3 and OpenBLAS: apt-get install g++ make python3 libopenblas-dev');
}
