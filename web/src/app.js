// The chat page of seek serve: conversations from /app/api, answers streamed as server-sent events.
// Markdown, KaTeX and highlight.js are most of the script: they load after the page is usable, and answers shown before
// they arrive are rendered again once they have.
let markdown = null;
const contentText = new WeakMap();   // .content element → the Markdown it shows
const escapeHtml = s => s.replace(/[&<>"']/g, ch => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[ch]);

function showMarkdown(element, text) {
  contentText.set(element, text);
  element.innerHTML = markdown ? markdown.render(text) : text ? `<p class="plain">${escapeHtml(text)}</p>` : '';
}

const markdownLoaded = import('./markdown.js').then(module => {
  markdown = module;
  for (const element of document.querySelectorAll('article.message .content')) {
    if (contentText.has(element)) showMarkdown(element, contentText.get(element));
  }
});

const $ = id => document.getElementById(id);
const el = {
  list: $('conversation-list'), search: $('search'), newChat: $('new-chat'), messages: $('messages'), empty: $('empty-state'),
  title: $('chat-title'), composer: $('composer'), input: $('composer-input'), send: $('send-button'), stop: $('stop-button'),
  settingsButton: $('settings-button'), renameButton: $('rename-button'), exportButton: $('export-button'), deleteButton: $('delete-button'),
  importButton: $('import-button'), importFile: $('import-file'), themeButton: $('theme-button'), themeState: $('theme-state'),
  sidebar: $('sidebar'), sidebarToggle: $('sidebar-toggle'), toast: $('toast'),
  settingsDialog: $('settings-dialog'), settingsForm: $('settings-form'), settingsCancel: $('settings-cancel'),
  model: $('setting-model'), temperature: $('setting-temperature'), topP: $('setting-top-p'), maxTokens: $('setting-max-tokens'), system: $('setting-system'),
  renameDialog: $('rename-dialog'), renameForm: $('rename-form'), renameInput: $('rename-input'), renameCancel: $('rename-cancel'),
  keyDialog: $('key-dialog'), keyForm: $('key-form'), keyInput: $('key-input'), keyError: $('key-error'),
};

const state = {
  info: null,            // /app/api/info
  conversations: [],
  current: null,         // { conversation, messages }
  streaming: null,       // { controller, messageId, view }
  key: localStorage.getItem('seek.apiKey') || '',
};

// ---- API ---------------------------------------------------------------------------------------------------------

class ApiError extends Error {
  constructor(status, message) { super(message); this.status = status; }
}

async function api(path, { method = 'GET', body, signal } = {}) {
  for (;;) {
    const headers = {};
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    if (state.key) headers.Authorization = `Bearer ${state.key}`;
    const response = await fetch(`/app/api${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal });
    if (response.status === 401) { await askForKey(!!state.key); continue; }
    if (!response.ok) {
      let message = `${response.status} ${response.statusText}`;
      try { message = (await response.json()).error?.message || message; } catch { /* not JSON */ }
      throw new ApiError(response.status, message);
    }
    return response;
  }
}

const getJson = async (path, options) => (await api(path, options)).json();

function askForKey(refused) {
  el.keyError.hidden = !refused;
  el.keyInput.value = '';
  return new Promise(resolve => {
    el.keyForm.onsubmit = () => {
      state.key = el.keyInput.value.trim();
      localStorage.setItem('seek.apiKey', state.key);
      resolve();
    };
    if (!el.keyDialog.open) el.keyDialog.showModal();
  });
}

// ---- Conversation list -----------------------------------------------------------------------------------------

async function loadConversations() {
  const q = el.search.value.trim();
  state.conversations = await getJson(`/conversations${q ? `?q=${encodeURIComponent(q)}` : ''}`);
  renderList();
}

function renderList() {
  el.list.replaceChildren(...state.conversations.map(c => {
    const li = document.createElement('li');
    const button = document.createElement('button');
    button.type = 'button';
    button.className = 'conversation';
    button.textContent = c.title;
    button.dataset.id = c.id;
    if (state.current?.conversation.id === c.id) button.setAttribute('aria-current', 'page');
    button.addEventListener('click', () => { openConversation(c.id); closeSidebarOnNarrow(); });
    li.append(button);
    return li;
  }));
  if (state.conversations.length === 0) {
    const li = document.createElement('li');
    li.className = 'list-empty';
    li.textContent = el.search.value.trim() ? 'No conversation matches.' : 'No conversations yet.';
    el.list.append(li);
  }
}

async function openConversation(id, { focus = true } = {}) {
  if (state.streaming) return;
  try {
    state.current = await getJson(`/conversations/${encodeURIComponent(id)}`);
  } catch (e) {
    if (e.status === 404) { state.current = null; history.replaceState(null, '', '/'); renderConversation(); return; }
    throw e;
  }
  history.replaceState(null, '', `#c/${id}`);
  renderConversation();
  renderList();
  if (focus) el.input.focus();
}

function newConversation() {
  if (state.streaming) return;
  state.current = null;
  history.replaceState(null, '', '/');
  renderConversation();
  renderList();
  el.input.focus();
}

// ---- Messages --------------------------------------------------------------------------------------------------

function renderConversation() {
  const c = state.current;
  el.title.textContent = c ? c.conversation.title : 'New chat';
  document.title = c ? `${c.conversation.title} · SeekSharp` : 'SeekSharp';
  for (const b of [el.renameButton, el.exportButton, el.deleteButton]) b.disabled = !c;
  el.messages.replaceChildren();
  const messages = c?.messages ?? [];
  if (messages.length === 0) el.messages.append(el.empty);
  messages.forEach((m, i) => el.messages.append(messageView(m, i === messages.length - 1).root));
  scrollToEnd(true);
}

function messageView(m, isLast) {
  const root = document.createElement('article');
  root.className = `message ${m.role}`;
  root.dataset.id = m.id;
  root.dataset.status = m.status;
  root.setAttribute('aria-label', m.role === 'user' ? 'Your message' : m.role === 'assistant' ? 'Answer' : 'System message');
  const view = { root, message: m };
  if (m.role === 'assistant') {
    const details = document.createElement('details');
    details.className = 'reasoning';
    const summary = document.createElement('summary');
    const text = document.createElement('div');
    text.className = 'reasoning-text';
    details.append(summary, text);
    const content = document.createElement('div');
    content.className = 'content markdown';
    const meta = document.createElement('div');
    meta.className = 'meta';
    const actions = document.createElement('div');
    actions.className = 'actions';
    root.append(details, content, meta, actions);
    Object.assign(view, { details, summary, reasoningText: text, content, meta, actions });
    updateAssistant(view, m, { isLast });
  } else {
    const bubble = document.createElement('div');
    bubble.className = 'bubble';
    bubble.textContent = m.content;
    const actions = document.createElement('div');
    actions.className = 'actions';
    if (m.role === 'user') actions.append(actionButton('Edit', 'edit', () => startEdit(view)));
    root.append(bubble, actions);
    Object.assign(view, { bubble, actions });
  }
  return view;
}

function actionButton(label, cls, onClick, disabled = false) {
  const b = document.createElement('button');
  b.type = 'button';
  b.className = cls;
  b.textContent = label;
  b.disabled = disabled;
  b.addEventListener('click', onClick);
  return b;
}

function updateAssistant(view, m, { isLast = true, streaming = false, startedAt } = {}) {
  view.message = m;
  view.root.dataset.status = streaming ? 'streaming' : m.status;
  const reasoning = m.reasoning || '';
  view.details.hidden = reasoning.length === 0;
  view.reasoningText.textContent = reasoning;
  if (streaming && !m.content) {
    view.details.open = true;
    view.summary.textContent = 'Thinking…';
  } else if (reasoning) {
    const seconds = m.reasoningSeconds ?? (startedAt ? (view.reasoningEndedAt ?? performance.now()) / 1000 - startedAt / 1000 : null);
    view.summary.textContent = seconds != null ? `Thought for ${formatSeconds(seconds)}` : 'Thoughts';
    if (!streaming || m.content) view.details.open = view.userOpened ?? false;
  }
  showMarkdown(view.content, m.content);
  view.meta.replaceChildren();
  const parts = [];
  if (m.completionTokens != null) parts.push(`${m.completionTokens} tokens`);
  if (m.tokensPerSecond != null) parts.push(`${m.tokensPerSecond.toFixed(1)} tokens/s`);
  if (m.promptTokens != null) parts.push(`prompt ${m.promptTokens} tokens`);
  view.meta.textContent = parts.join(' · ');
  if (!streaming && (m.status === 'stopped' || m.status === 'failed')) {
    const badge = document.createElement('span');
    badge.className = `badge ${m.status}`;
    badge.textContent = m.status === 'stopped' ? 'Stopped' : 'Failed';
    view.meta.prepend(badge, parts.length ? ' ' : '');
  }
  view.actions.replaceChildren();
  if (!streaming) {
    view.actions.append(actionButton('Copy', 'copy', () => copyText(m.content)));
    if (isLast) {
      view.actions.append(actionButton('Regenerate', 'regenerate', () => regenerate()));
      if (m.status === 'stopped' || m.status === 'failed') view.actions.append(actionButton('Continue', 'continue', () => continueAnswer()));
    }
  }
}

function formatSeconds(s) {
  const rounded = Math.max(1, Math.round(s));
  return rounded === 1 ? '1 second' : `${rounded} seconds`;
}

function startEdit(view) {
  if (state.streaming) return;
  const area = document.createElement('textarea');
  area.className = 'edit-input';
  area.value = view.message.content;
  area.setAttribute('aria-label', 'Edit your message');
  area.rows = Math.min(10, Math.max(2, view.message.content.split('\n').length));
  const save = actionButton('Send', 'primary save-edit', () => submitEdit(view, area.value));
  const cancel = actionButton('Cancel', 'cancel-edit', () => renderConversation());
  area.addEventListener('keydown', e => {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) { e.preventDefault(); save.click(); }
    if (e.key === 'Escape') { e.preventDefault(); cancel.click(); }
  });
  view.bubble.replaceWith(area);
  view.actions.replaceChildren(save, cancel);
  area.focus();
}

async function submitEdit(view, text) {
  if (!text.trim()) return;
  const c = state.current;
  const index = c.messages.findIndex(m => m.id === view.message.id);
  c.messages = c.messages.slice(0, index + 1);
  c.messages[index] = { ...view.message, content: text };
  renderConversation();
  await stream(`/conversations/${c.conversation.id}/messages/${view.message.id}/edit`, { content: text });
}

// ---- Streaming -------------------------------------------------------------------------------------------------

async function send(text) {
  if (state.streaming || !text.trim()) return;
  if (!state.current) {
    const conversation = await getJson('/conversations', { method: 'POST', body: {} });
    state.current = { conversation, messages: [] };
    history.replaceState(null, '', `#c/${conversation.id}`);
  }
  const c = state.current;
  c.messages.push({ id: `pending-${Date.now()}`, role: 'user', content: text, status: 'complete' });
  renderConversation();
  el.input.value = '';
  autoSize();
  await stream(`/conversations/${c.conversation.id}/messages`, { content: text });
}

async function regenerate() {
  const c = state.current;
  if (!c || state.streaming) return;
  if (c.messages.at(-1)?.role === 'assistant') c.messages.pop();
  renderConversation();
  await stream(`/conversations/${c.conversation.id}/regenerate`);
}

async function continueAnswer() {
  const c = state.current;
  if (!c || state.streaming) return;
  await stream(`/conversations/${c.conversation.id}/continue`, undefined, c.messages.at(-1));
}

/** Posts to an answering route and shows the answer as it streams; resume is the stopped answer being continued. */
async function stream(path, body, resume) {
  const controller = new AbortController();
  let view = null;
  let message = null;
  const startedAt = performance.now();
  let frame = 0;
  const repaint = () => {
    frame = 0;
    if (view) { updateAssistant(view, message, { streaming: true, startedAt }); scrollToEnd(); }
  };
  state.streaming = { controller };
  setStreaming(true);
  try {
    const response = await api(path, { method: 'POST', body: body ?? {}, signal: controller.signal });
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += value;
      let end;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const data = block.split('\n').filter(l => l.startsWith('data: ')).map(l => l.slice(6)).join('\n');
        if (!data) continue;   // keep-alive comment
        const event = JSON.parse(data);
        if (event.type === 'start') {
          message = { ...event.message, content: event.message.content || '', reasoning: event.message.reasoning || '' };
          if (resume) view = viewFor(resume.id);
          if (!view) {
            state.current.messages.push(message);
            el.empty.remove();
            view = messageView(message, true);
            el.messages.append(view.root);
          }
          view.details.addEventListener('toggle', () => { if (message.content) view.userOpened = view.details.open; });
          repaint();
        } else if (event.type === 'reasoning') {
          // Reasoning is plain text: each piece is appended as it comes (cheap), not re-rendered.
          message.reasoning += event.text;
          if (view) {
            view.details.hidden = false;
            view.reasoningText.append(event.text);
            if (!message.content) { view.details.open = true; view.summary.textContent = 'Thinking…'; }
            scrollToEnd();
          }
        } else if (event.type === 'content') {
          if (!message.content && view) view.reasoningEndedAt = performance.now();
          message.content += event.text;
          if (!frame) frame = requestAnimationFrame(repaint);
        } else if (event.type === 'done') {
          message = event.message;
        } else if (event.type === 'error') {
          toast(event.error);
          message = { ...message, status: 'failed' };
        }
      }
    }
  } catch (e) {
    if (e.name === 'AbortError') {
      if (message) message = { ...message, status: 'stopped' };
    } else {
      toast(e.message);
      if (message) message = { ...message, status: 'failed' };
    }
  } finally {
    if (frame) cancelAnimationFrame(frame);
    state.streaming = null;
    setStreaming(false);
    // The stored conversation is the truth (ids, figures, status): read it back. After a stop the server marks the
    // answer stopped once it sees the request gone, a moment after the page does: wait for that (briefly).
    if (state.current) {
      try {
        const id = state.current.conversation.id;
        for (let i = 0; i < 30; i++) {
          await openConversation(id, { focus: false });
          if (state.current?.messages.at(-1)?.status !== 'streaming') break;
          await new Promise(resolve => setTimeout(resolve, 100));
        }
      } catch (e) { toast(e.message); }
    }
    await loadConversations().catch(() => {});
    el.input.focus();
  }

  function viewFor(id) {
    const root = el.messages.querySelector(`article.message[data-id="${CSS.escape(id)}"]`);
    if (!root) return null;
    const v = { root, message, details: root.querySelector('details'), summary: root.querySelector('summary'),
      reasoningText: root.querySelector('.reasoning-text'), content: root.querySelector('.content'), meta: root.querySelector('.meta'),
      actions: root.querySelector('.actions') };
    return v;
  }
}

function setStreaming(on) {
  el.send.hidden = on;
  el.stop.hidden = !on;
  el.messages.setAttribute('aria-busy', on ? 'true' : 'false');
  for (const b of el.messages.querySelectorAll('.actions button')) b.disabled = on;
  if (on) el.stop.focus();
}

function stop() {
  state.streaming?.controller.abort();
}

function scrollToEnd(force = false) {
  const m = el.messages;
  if (force || m.scrollHeight - m.scrollTop - m.clientHeight < 120) m.scrollTop = m.scrollHeight;
}

// ---- Conversation actions --------------------------------------------------------------------------------------

function openSettings() {
  const s = state.current?.conversation.settings ?? pendingSettings;
  el.model.replaceChildren(...(state.info?.models ?? []).map(name => new Option(name, name)));
  el.model.value = s.model || state.info?.model || '';
  el.temperature.value = s.temperature ?? '';
  el.temperature.placeholder = state.info?.defaults.temperature != null ? `model default (${state.info.defaults.temperature})` : 'model default';
  el.topP.value = s.topP ?? '';
  el.topP.placeholder = state.info?.defaults.topP != null ? `model default (${state.info.defaults.topP})` : 'model default';
  el.maxTokens.value = s.maxTokens ?? '';
  el.system.value = s.systemPrompt ?? '';
  el.settingsDialog.showModal();
}

let pendingSettings = {};

async function saveSettings() {
  const number = input => input.value.trim() === '' ? null : Number(input.value);
  const settings = {
    model: el.model.value || null,
    temperature: number(el.temperature),
    topP: number(el.topP),
    maxTokens: number(el.maxTokens),
    systemPrompt: el.system.value.trim() || null,
  };
  if (!state.current) {
    const conversation = await getJson('/conversations', { method: 'POST', body: { settings } });
    state.current = { conversation, messages: [] };
    history.replaceState(null, '', `#c/${conversation.id}`);
  } else {
    state.current.conversation = await getJson(`/conversations/${state.current.conversation.id}`,
      { method: 'PATCH', body: { settings, resetSettings: true } });
  }
  renderConversation();
  await loadConversations();
  toast('Settings saved');
}

function rename() {
  if (!state.current) return;
  el.renameInput.value = state.current.conversation.title;
  el.renameDialog.showModal();
  el.renameInput.select();
}

async function saveRename() {
  const title = el.renameInput.value.trim();
  if (!title || !state.current) return;
  state.current.conversation = await getJson(`/conversations/${state.current.conversation.id}`, { method: 'PATCH', body: { title } });
  renderConversation();
  await loadConversations();
}

async function remove() {
  const c = state.current;
  if (!c || state.streaming) return;
  if (!confirm(`Delete “${c.conversation.title}”? This cannot be undone.`)) return;
  await api(`/conversations/${c.conversation.id}`, { method: 'DELETE' });
  state.current = null;
  history.replaceState(null, '', '/');
  renderConversation();
  await loadConversations();
  toast('Conversation deleted');
  el.newChat.focus();
}

async function exportConversation() {
  const c = state.current;
  if (!c) return;
  const blob = await (await api(`/conversations/${c.conversation.id}/export`)).blob();
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = `${c.conversation.title.replace(/[^\w\- ]+/g, '').trim() || 'conversation'}.json`;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

async function importFile(file) {
  let body;
  try { body = JSON.parse(await file.text()); } catch { toast(`${file.name} is not JSON`); return; }
  if (Array.isArray(body)) body = { conversations: body };
  try {
    const result = await getJson('/import', { method: 'POST', body });
    await loadConversations();
    if (result.imported.length) await openConversation(result.imported[0].id);
    toast(`Imported ${result.imported.length} conversation${result.imported.length === 1 ? '' : 's'}`);
  } catch (e) {
    toast(`Import failed: ${e.message}`);
  }
}

async function copyText(text) {
  try { await navigator.clipboard.writeText(text); toast('Copied'); } catch { toast('Copy is not allowed here'); }
}

// ---- Theme, layout, toasts -------------------------------------------------------------------------------------

const themes = ['system', 'light', 'dark'];

function applyTheme(theme) {
  if (theme === 'system') document.documentElement.removeAttribute('data-theme');
  else document.documentElement.dataset.theme = theme;
  el.themeState.textContent = theme;
  el.themeButton.setAttribute('aria-label', `Theme: ${theme} (change)`);
  localStorage.setItem('seek.theme', theme);
}

function closeSidebarOnNarrow() {
  el.sidebar.classList.remove('open');
  el.sidebarToggle.setAttribute('aria-expanded', 'false');
}

let toastTimer = 0;
function toast(text) {
  el.toast.textContent = text;
  el.toast.classList.add('visible');
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => el.toast.classList.remove('visible'), 4000);
}

function autoSize() {
  el.input.style.height = 'auto';
  el.input.style.height = `${Math.min(el.input.scrollHeight, 240)}px`;
}

// ---- Wiring ----------------------------------------------------------------------------------------------------

el.composer.addEventListener('submit', e => { e.preventDefault(); send(el.input.value).catch(err => toast(err.message)); });
el.input.addEventListener('keydown', e => {
  if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) { e.preventDefault(); el.composer.requestSubmit(); }
});
el.input.addEventListener('input', autoSize);
el.stop.addEventListener('click', stop);
document.addEventListener('keydown', e => { if (e.key === 'Escape' && state.streaming && !document.querySelector('dialog[open]')) stop(); });
el.newChat.addEventListener('click', () => { newConversation(); closeSidebarOnNarrow(); });
let searchTimer = 0;
el.search.addEventListener('input', () => { clearTimeout(searchTimer); searchTimer = setTimeout(() => loadConversations().catch(e => toast(e.message)), 150); });
el.settingsButton.addEventListener('click', openSettings);
el.settingsCancel.addEventListener('click', () => el.settingsDialog.close());
el.settingsForm.addEventListener('submit', () => saveSettings().catch(e => toast(e.message)));
el.renameButton.addEventListener('click', rename);
el.renameCancel.addEventListener('click', () => el.renameDialog.close());
el.renameForm.addEventListener('submit', () => saveRename().catch(e => toast(e.message)));
el.deleteButton.addEventListener('click', () => remove().catch(e => toast(e.message)));
el.exportButton.addEventListener('click', () => exportConversation().catch(e => toast(e.message)));
el.importButton.addEventListener('click', () => el.importFile.click());
el.importFile.addEventListener('change', () => { const f = el.importFile.files[0]; el.importFile.value = ''; if (f) importFile(f); });
el.themeButton.addEventListener('click', () => {
  const current = localStorage.getItem('seek.theme') || 'system';
  applyTheme(themes[(themes.indexOf(current) + 1) % themes.length]);
});
el.sidebarToggle.addEventListener('click', () => {
  const open = el.sidebar.classList.toggle('open');
  el.sidebarToggle.setAttribute('aria-expanded', String(open));
  if (open) el.search.focus();
});
el.messages.addEventListener('click', e => {
  const button = e.target.closest('.copy-code');
  if (button) copyText(button.parentElement.querySelector('code').textContent);
});

async function start() {
  applyTheme(localStorage.getItem('seek.theme') || 'system');
  performance.mark('seek-start');
  const info = getJson('/info').then(i => { state.info = i; }, e => toast(e.message));
  await Promise.all([info, loadConversations().catch(e => toast(e.message))]);
  const match = /^#c\/([\w-]+)$/.exec(location.hash);
  if (match) await openConversation(match[1], { focus: false }).catch(e => toast(e.message));
  else renderConversation();
  document.body.dataset.ready = 'true';
  performance.mark('seek-ready');
  await markdownLoaded;
  document.body.dataset.markdown = 'true';
}

start();
