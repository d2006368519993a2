// File extension / well-known file name → language id and the lexical syntax the comment
// scanner needs. Language ids follow VS Code's ids where one exists ('typescript',
// 'shellscript', 'csharp', 'cpp', …); JSX/TSX map to 'javascript'/'typescript' so that a
// `languages` filter naming 'typescript' covers .tsx files too.

/** How `'` is lexed. */
export type SingleQuoteMode =
  | 'string' // a string literal (JS, Python, Ruby, shell, TOML, …)
  | 'char' // a character literal, single line (C, Java, C#, Go, Kotlin, …)
  | 'rust' // a char literal or a lifetime/label ('a, 'static)
  | 'yaml' // a quoted scalar only at the start of a YAML scalar
  | 'none'; // plain punctuation (Swift, CSS, Dockerfile)

export interface CommentSyntax {
  /** Line comment markers, longest first is not required (matching uses startsWith). */
  line: string[];
  /** Block comment delimiters, e.g. ['/*', '*\/']. */
  block?: [string, string];
  /** Block comments nest (Rust, Swift, Kotlin, Scala). */
  nestedBlocks?: boolean;
  /** Where a `#` line comment may start: anywhere, at a word start (shell, YAML), or only at line start (Dockerfile). */
  hashBoundary?: 'any' | 'word' | 'line-start';
  single: SingleQuoteMode;
  /** `"` starts a string (with backslash escapes). */
  double: boolean;
  /** How a backtick is lexed. */
  backtick: 'template' | 'raw' | 'string' | 'none';
  /** Triple-quoted strings: both `"""` and `'''` (Python, Groovy, Dart, TOML) or only `"""` (Java, Kotlin, Swift, C#). */
  triple?: 'both' | 'double';
  /** `'…'` and `"…"` may span lines (shell, Ruby, YAML); otherwise an unescaped newline ends them. */
  multilineStrings?: boolean;
  /** `'…'` and `'''…'''` strings have no escapes (shell, TOML literal strings). */
  literalSingle?: boolean;
  /** `"""…"""` strings have no escapes (Kotlin, Scala raw strings). */
  rawTriple?: boolean;
  /** Interpolation opener inside double-quoted (and template/triple) strings. */
  interpolation?: '${' | '#{' | '\\(' | '{';
  /** JS-style regex literals decided from the previous significant token. */
  regex?: boolean;
  /** Python: string prefixes (r, b, u, f and combinations), docstrings, f-string `{}` nesting. */
  python?: boolean;
  /** Rust: raw strings r#"…"#, byte strings, char/lifetime disambiguation. */
  rust?: boolean;
  /** C++: raw strings R"delim(…)delim" and digit separators 1'000. */
  cpp?: boolean;
  /** C#: verbatim @"…", interpolated $"…{}…", raw """…""". */
  csharp?: boolean;
  /** Swift: raw strings #"…"#. */
  swift?: boolean;
  /** Ruby: =begin/=end, %q() literals, ?c char literals, heredocs, __END__. */
  ruby?: boolean;
  /** Shell: backslash escapes in code, $'…' strings, heredocs. */
  shell?: boolean;
  /** YAML: block scalars (`|`, `>`) whose content is not scanned for comments. */
  yaml?: boolean;
  /** SCSS/Less: `url(…)` is an unquoted string (so `//` in a URL is not a comment). */
  cssUrl?: boolean;
}

export interface LanguageInfo {
  /** Language id, e.g. 'typescript', 'python', 'markdown'. */
  id: string;
  /** 'markdown' files are split into sections; 'code' files yield their comments. */
  kind: 'markdown' | 'code';
  /** Present for kind 'code'. */
  syntax?: CommentSyntax;
}

const C_BLOCK: [string, string] = ['/*', '*/'];

const C_LIKE: CommentSyntax = { line: ['//'], block: C_BLOCK, single: 'char', double: true, backtick: 'none' };

const SYNTAX: Record<string, CommentSyntax> = {
  javascript: { line: ['//'], block: C_BLOCK, single: 'string', double: true, backtick: 'template', interpolation: '${', regex: true },
  typescript: { line: ['//'], block: C_BLOCK, single: 'string', double: true, backtick: 'template', interpolation: '${', regex: true },
  python: { line: ['#'], single: 'string', double: true, backtick: 'none', triple: 'both', python: true, hashBoundary: 'any' },
  rust: { line: ['//'], block: C_BLOCK, nestedBlocks: true, single: 'rust', double: true, backtick: 'none', rust: true, multilineStrings: true },
  go: { line: ['//'], block: C_BLOCK, single: 'char', double: true, backtick: 'raw' },
  java: { ...C_LIKE, triple: 'double' },
  kotlin: { ...C_LIKE, nestedBlocks: true, triple: 'double', rawTriple: true, interpolation: '${', backtick: 'raw' },
  scala: { ...C_LIKE, nestedBlocks: true, triple: 'double', rawTriple: true, backtick: 'raw' },
  groovy: { line: ['//'], block: C_BLOCK, single: 'string', double: true, backtick: 'none', triple: 'both', interpolation: '${' },
  dart: { line: ['//'], block: C_BLOCK, nestedBlocks: true, single: 'string', double: true, backtick: 'none', triple: 'both', interpolation: '${' },
  c: { ...C_LIKE },
  cpp: { ...C_LIKE, cpp: true },
  csharp: { ...C_LIKE, csharp: true },
  swift: { line: ['//'], block: C_BLOCK, nestedBlocks: true, single: 'none', double: true, backtick: 'raw', triple: 'double', interpolation: '\\(', swift: true },
  proto: { line: ['//'], block: C_BLOCK, single: 'string', double: true, backtick: 'none' },
  ruby: { line: ['#'], single: 'string', double: true, backtick: 'string', multilineStrings: true, interpolation: '#{', regex: true, ruby: true, hashBoundary: 'any' },
  shellscript: { line: ['#'], single: 'string', literalSingle: true, double: true, backtick: 'string', multilineStrings: true, shell: true, hashBoundary: 'word' },
  dockerfile: { line: ['#'], single: 'none', double: false, backtick: 'none', hashBoundary: 'line-start' },
  yaml: { line: ['#'], single: 'yaml', double: true, backtick: 'none', multilineStrings: true, yaml: true, hashBoundary: 'word' },
  toml: { line: ['#'], single: 'string', literalSingle: true, double: true, backtick: 'none', triple: 'both', hashBoundary: 'any' },
  css: { line: [], block: C_BLOCK, single: 'string', double: true, backtick: 'none' },
  scss: { line: ['//'], block: C_BLOCK, single: 'string', double: true, backtick: 'none', cssUrl: true },
  less: { line: ['//'], block: C_BLOCK, single: 'string', double: true, backtick: 'none', cssUrl: true },
};

const EXTENSIONS: Record<string, string> = {
  md: 'markdown', markdown: 'markdown', mdown: 'markdown', mkd: 'markdown', mdx: 'markdown',
  js: 'javascript', jsx: 'javascript', mjs: 'javascript', cjs: 'javascript',
  ts: 'typescript', tsx: 'typescript', mts: 'typescript', cts: 'typescript',
  py: 'python', pyi: 'python', pyw: 'python',
  rs: 'rust',
  go: 'go',
  java: 'java',
  kt: 'kotlin', kts: 'kotlin',
  scala: 'scala', sc: 'scala',
  groovy: 'groovy', gradle: 'groovy',
  dart: 'dart',
  c: 'c', h: 'c',
  cc: 'cpp', cpp: 'cpp', cxx: 'cpp', 'c++': 'cpp', hpp: 'cpp', hh: 'cpp', hxx: 'cpp', ipp: 'cpp', inl: 'cpp',
  cs: 'csharp',
  swift: 'swift',
  proto: 'proto',
  rb: 'ruby', rake: 'ruby', gemspec: 'ruby',
  sh: 'shellscript', bash: 'shellscript', zsh: 'shellscript', ksh: 'shellscript',
  yaml: 'yaml', yml: 'yaml',
  toml: 'toml',
  css: 'css', scss: 'scss', less: 'less',
  dockerfile: 'dockerfile',
};

/** Well-known extension-less (or special) file names, matched case-sensitively on the base name. */
const FILE_NAMES: Record<string, string> = {
  Dockerfile: 'dockerfile', Containerfile: 'dockerfile',
  Rakefile: 'ruby', Gemfile: 'ruby', Guardfile: 'ruby', Podfile: 'ruby', Vagrantfile: 'ruby', Brewfile: 'ruby',
  '.bashrc': 'shellscript', '.bash_profile': 'shellscript', '.bash_aliases': 'shellscript', '.profile': 'shellscript',
  '.zshrc': 'shellscript', '.zprofile': 'shellscript', '.zshenv': 'shellscript',
  Jenkinsfile: 'groovy',
};

/** Aliases accepted in `languages` filters, normalised to the ids above. */
const ALIASES: Record<string, string> = {
  js: 'javascript', jsx: 'javascript', javascriptreact: 'javascript', node: 'javascript',
  ts: 'typescript', tsx: 'typescript', typescriptreact: 'typescript',
  py: 'python', python3: 'python',
  rs: 'rust',
  golang: 'go',
  kt: 'kotlin',
  'c++': 'cpp', cxx: 'cpp', cc: 'cpp', hpp: 'cpp',
  'c#': 'csharp', cs: 'csharp',
  rb: 'ruby',
  sh: 'shellscript', shell: 'shellscript', bash: 'shellscript', zsh: 'shellscript',
  yml: 'yaml',
  md: 'markdown', mdx: 'markdown',
  docker: 'dockerfile',
};

/** Every language id this module knows. */
export const SUPPORTED_LANGUAGES: readonly string[] = ['markdown', ...Object.keys(SYNTAX)];

/** Lower-cases and resolves aliases ('ts' → 'typescript', 'sh' → 'shellscript'). */
export function normalizeLanguageId(id: string): string {
  const lower = id.trim().toLowerCase();
  return ALIASES[lower] ?? lower;
}

function baseName(path: string): string {
  const slash = Math.max(path.lastIndexOf('/'), path.lastIndexOf('\\'));
  return slash >= 0 ? path.slice(slash + 1) : path;
}

/** The language of a path (by base name, then by extension), or undefined when unsupported. */
export function languageIdForPath(path: string): string | undefined {
  const name = baseName(path);
  const byName = FILE_NAMES[name];
  if (byName) return byName;
  if (name.startsWith('Dockerfile.') || name.endsWith('.Dockerfile')) return 'dockerfile';
  const dot = name.lastIndexOf('.');
  // No extension, or a dot file such as `.eslintrc` (no extension in our sense).
  if (dot <= 0) return undefined;
  return EXTENSIONS[name.slice(dot + 1).toLowerCase()];
}

/** Language id plus syntax for a path, or undefined when the path is not supported. */
export function languageForPath(path: string): LanguageInfo | undefined {
  const id = languageIdForPath(path);
  if (!id) return undefined;
  if (id === 'markdown') return { id, kind: 'markdown' };
  return { id, kind: 'code', syntax: SYNTAX[id] };
}

/** Syntax for a language id (after alias normalisation), or undefined. */
export function syntaxForLanguage(id: string): CommentSyntax | undefined {
  return SYNTAX[normalizeLanguageId(id)];
}
