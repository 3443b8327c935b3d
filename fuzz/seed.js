// Seeds fuzz/corpus/<target>/ from the project's test fixtures (scripts/fuzz runs it before
// every run; the corpus directories are generated, not committed):
//   tests/data/vectors.json   solutions, tokens, rejections, verdict headers
//   tests/data/corpus.json    real browsers' and tools' header sets and User-Agents
//   policy/gate.toml, tests/data/policy/{good,bad}/*.toml      policies
//   drills/*.toml, tests/data/drills/{good,bad}/*.toml          drill scenarios
//   string literals of the parsers' own test tables (User-Agents, phone numbers, paths, bodies)
//   fuzz/seeds/<target>/*     a few hand-picked inputs no fixture has (signals, bodies, log lines)
// Usage: node fuzz/seed.js ROOT
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

// `--check`: read every fixture and count the seeds, write nothing, and fail when a target gets
// none (scripts/test lint runs it, so a moved fixture breaks the lint, not the next fuzz run).
const args = process.argv.slice(2);
const check = args.includes('--check');
const root = args.find((a) => !a.startsWith('--')) || path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
const at = (...p) => path.join(root, ...p);
const read = (...p) => fs.readFileSync(at(...p), 'utf8');
const exists = (...p) => fs.existsSync(at(...p));
const toml = (dir) => (exists(dir) ? fs.readdirSync(at(dir)).filter((f) => f.endsWith('.toml')).map((f) => path.join(dir, f)) : []);

const counts = {};
function seed(target, content) {
  const bytes = Buffer.isBuffer(content) ? content : Buffer.from(content, 'utf8');
  counts[target] = (counts[target] || 0) + 1;
  if (check) return;
  const dir = at('fuzz', 'corpus', target);
  fs.mkdirSync(dir, { recursive: true });
  // named by content, as libFuzzer names its own units: seeding twice adds nothing
  const name = 'seed-' + crypto.createHash('sha1').update(bytes).digest('hex').slice(0, 16);
  fs.writeFileSync(path.join(dir, name), bytes);
}

// The string literals of a Rust file ("..." with escapes, r"..." and r#"..."#).
function rustStrings(file) {
  const src = read(file);
  const out = [];
  const re = /r(#*)"([\s\S]*?)"\1|"((?:[^"\\]|\\[\s\S])*)"/g;
  for (let m; (m = re.exec(src)); ) {
    if (m[2] !== undefined) {
      out.push(m[2]);
      continue;
    }
    out.push(
      m[3]
        .replace(/\\\n\s*/g, '')
        .replace(/\\u\{([0-9a-fA-F]+)\}/g, (_, h) => String.fromCodePoint(parseInt(h, 16)))
        .replace(/\\x([0-9a-fA-F]{2})/g, (_, h) => String.fromCharCode(parseInt(h, 16)))
        .replace(/\\(.)/g, (_, c) => ({ n: '\n', r: '\r', t: '\t', 0: '\0' })[c] ?? c),
    );
  }
  return out;
}

const vectors = JSON.parse(read('tests', 'data', 'vectors.json'));
const corpus = JSON.parse(read('tests', 'data', 'corpus.json')).entries;

// solution, token, verdict: the known-answer vectors
for (const c of vectors.challenges) {
  seed('solution', c.solution);
  seed('token', c.token);
  seed('token', Buffer.from(c.token, 'base64url'));
  if (c.signals) seed('signals', c.signals);
}
for (const r of vectors.rejections) if (r.solution) seed('solution', r.solution);
// inputs just over the size limits, so that libFuzzer (whose -max_len is the largest seed, at
// least 4096) also tries lengths the limits refuse
seed('solution', vectors.challenges[0].solution + '.' + 'e30'.repeat(2200));
seed('signals', '{"v":1,"automation":[' + Array(600).fill('"cdc_x"').join(',') + ']}');
for (const v of vectors.verdicts) seed('verdict', v.header);

// headers and user_agent: the header corpus, and the User-Agent reader's own tables
const uas = new Set();
for (const e of corpus) {
  seed('headers', e.headers.map(([n, v]) => `${n}: ${v}`).join('\n'));
  for (const [n, v] of e.headers) {
    if (n.toLowerCase() === 'user-agent') uas.add(v);
    if (n.toLowerCase() === 'sec-ch-ua') seed('user_agent', v);
  }
}
for (const s of rustStrings('src/request/user_agent/tests.rs')) if (s.length > 8) uas.add(s);
for (const ua of uas) seed('user_agent', ua);

// phone: the parser's test cases
for (const s of ['src/request/phone/tests.rs', 'tests/phone.rs'].flatMap(rustStrings)) if (/\d|[٠-٩۰-۹०-९０-９]/.test(s) && s.length > 3) seed('phone', s);

// route: every protected and pass route of the fixture policies, against the path tests' paths
const specs = new Set();
for (const f of ['policy/gate.toml', ...toml('tests/data/policy/good')]) {
  for (const m of read(f).matchAll(/"((?:GET|POST|PUT|PATCH|DELETE|\*) \/[^"]*)"/g)) specs.add(m[1]);
}
const paths = new Set(['/signup', '/index.php/signup', '/login']);
for (const f of ['tests/paths.rs', 'src/request/route.rs']) {
  for (const s of rustStrings(f)) if (s.startsWith('/') && s.length < 200) paths.add(s);
}
const specList = [...specs];
[...paths].forEach((p, i) => {
  const spec = specList[i % specList.length] || 'POST /signup';
  seed('route', `${spec}\nPOST\n${p}\n`);
  if (i % 4 === 0) seed('route', `${spec}\nGET,X-HTTP-Method-Override:PUT\n/index.php\n${p}`);
});

// form: the body reader's test bodies, under each content type
for (const s of rustStrings('src/request/form.rs')) {
  if (s.startsWith('{') || s.startsWith('[')) seed('form', `application/json\n\n${s}`);
  else if (s.includes('=') && !s.includes('\r\n')) seed('form', `application/x-www-form-urlencoded\nphone=%2B1\n${s}`);
}

// policy and scenario: the files and the loaders' golden fixtures
for (const f of ['policy/gate.toml', ...toml('tests/data/policy/good'), ...toml('tests/data/policy/bad')]) {
  seed('policy', read(f));
}
for (const f of [...toml('drills'), ...toml('tests/data/drills/good'), ...toml('tests/data/drills/bad')]) {
  seed('scenario', read(f));
}

// decision_log: the README's and the replay tests' lines (and the hand-picked seeds below)
for (const f of ['README.md', ...(exists('docs') ? fs.readdirSync(at('docs')).filter((d) => d.endsWith('.md')).map((d) => 'docs/' + d) : []), 'src/decision_log/replay.rs']) {
  for (const s of f.endsWith('.rs') ? rustStrings(f) : read(f).split('```')) {
    if (s.includes('"gate":"decision"')) seed('decision_log', s.replace(/^json\n/, ''));
  }
}

// hand-picked seeds, for what no fixture has
if (exists('fuzz', 'seeds')) {
  for (const target of fs.readdirSync(at('fuzz', 'seeds'))) {
    for (const f of fs.readdirSync(at('fuzz', 'seeds', target))) seed(target, fs.readFileSync(at('fuzz', 'seeds', target, f)));
  }
}

for (const [target, n] of Object.entries(counts).sort()) console.log(`${target.padEnd(14)} ${n} seeds`);
if (check) {
  // a target fed raw bytes (`|data: &[u8]|`) needs seeds; a structured one (`arbitrary`) does not
  const raw = (f) => read('fuzz', 'fuzzers', f).includes('&[u8]');
  const targets = fs.readdirSync(at('fuzz', 'fuzzers')).filter((f) => f.endsWith('.rs') && raw(f)).map((f) => f.slice(0, -3));
  const unseeded = targets.filter((t) => !counts[t]);
  if (unseeded.length) {
    console.error(`fuzz/seed.js: no seeds for ${unseeded.join(', ')}`);
    process.exit(1);
  }
}
