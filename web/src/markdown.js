// Markdown to safe HTML: marked for the text, KaTeX for math ($…$, $$…$$, \(…\), \[…\]), highlight.js for code,
// DOMPurify over the result (the model's text is untrusted input to this page).
import { Marked } from 'marked';
import DOMPurify from 'dompurify';
import katex from 'katex';
import hljs from 'highlight.js/lib/core';
import bash from 'highlight.js/lib/languages/bash';
import c from 'highlight.js/lib/languages/c';
import cpp from 'highlight.js/lib/languages/cpp';
import csharp from 'highlight.js/lib/languages/csharp';
import css from 'highlight.js/lib/languages/css';
import go from 'highlight.js/lib/languages/go';
import java from 'highlight.js/lib/languages/java';
import javascript from 'highlight.js/lib/languages/javascript';
import json from 'highlight.js/lib/languages/json';
import markdown from 'highlight.js/lib/languages/markdown';
import python from 'highlight.js/lib/languages/python';
import rust from 'highlight.js/lib/languages/rust';
import sql from 'highlight.js/lib/languages/sql';
import typescript from 'highlight.js/lib/languages/typescript';
import xml from 'highlight.js/lib/languages/xml';
import yaml from 'highlight.js/lib/languages/yaml';

const languages = { bash, c, cpp, csharp, css, go, java, javascript, json, markdown, python, rust, sql, typescript, xml, yaml };
for (const [name, language] of Object.entries(languages)) hljs.registerLanguage(name, language);
hljs.registerAliases(['sh', 'shell', 'zsh'], { languageName: 'bash' });
hljs.registerAliases(['cs', 'c#', 'dotnet'], { languageName: 'csharp' });
hljs.registerAliases(['js', 'mjs'], { languageName: 'javascript' });
hljs.registerAliases(['ts'], { languageName: 'typescript' });
hljs.registerAliases(['py'], { languageName: 'python' });
hljs.registerAliases(['html', 'svg'], { languageName: 'xml' });
hljs.registerAliases(['yml'], { languageName: 'yaml' });

function tex(source, displayMode) {
  return katex.renderToString(source, { displayMode, throwOnError: false, output: 'htmlAndMathml', strict: 'ignore' });
}

const escapeHtml = s => s.replace(/[&<>"']/g, ch => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[ch]);

// Math as marked extensions, so that code spans and blocks keep their dollars and backslashes.
const blockMath = {
  name: 'blockMath',
  level: 'block',
  start: src => src.match(/\$\$|\\\[/)?.index,
  tokenizer(src) {
    const m = /^\$\$([\s\S]+?)\$\$/.exec(src) || /^\\\[([\s\S]+?)\\\]/.exec(src);
    if (m) return { type: 'blockMath', raw: m[0], text: m[1].trim() };
  },
  renderer: token => `<div class="math-block">${tex(token.text, true)}</div>\n`,
};
const inlineMath = {
  name: 'inlineMath',
  level: 'inline',
  start: src => src.match(/\$|\\\(/)?.index,
  tokenizer(src) {
    // $…$ needs a non-space after the opening and before the closing dollar, so prices ("$5 and $6") stay text.
    const m = /^\$\$([^$]+?)\$\$/.exec(src) || /^\$(?=\S)([^$\n]*?\S)\$(?!\d)/.exec(src) || /^\\\(([\s\S]+?)\\\)/.exec(src);
    if (m) return { type: 'inlineMath', raw: m[0], text: m[1], display: m[0].startsWith('$$') };
  },
  renderer: token => tex(token.text, token.display),
};

const marked = new Marked({ gfm: true, breaks: false });
marked.use({
  extensions: [blockMath, inlineMath],
  renderer: {
    code({ text, lang }) {
      const language = (lang || '').trim().split(/\s+/)[0].toLowerCase();
      let body;
      if (language && hljs.getLanguage(language)) body = hljs.highlight(text, { language, ignoreIllegals: true }).value;
      else body = escapeHtml(text);
      const label = language ? `<span class="code-lang">${escapeHtml(language)}</span>` : '';
      return `<div class="code-block">${label}<button type="button" class="copy-code">Copy code</button><pre><code class="hljs">${body}</code></pre></div>`;
    },
  },
});

/** Renders Markdown to sanitized HTML. */
export function render(text) {
  const html = marked.parse(text ?? '', { async: false });
  return DOMPurify.sanitize(html, { ADD_ATTR: ['aria-hidden', 'encoding'] });
}
