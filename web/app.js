// untxt web page: sign in, upload, a live task list over the WebSocket, and a result viewer.
// Plain ES module, no dependencies. Everything the API returns is put into the page with
// textContent or attributes, never innerHTML; the result's HTML only ever goes into a sandboxed
// iframe without script permission.
//
// Tokens: the access token lives in memory only; the refresh token in sessionStorage (this tab,
// until it closes), so a reload keeps you signed in. Never localStorage: a refresh token there
// would outlive the tab and be readable by any script on the origin for as long as it is valid.

const REFRESH_KEY = 'untxt.refreshToken';
const TYPES = { pdf: 'application/pdf', png: 'image/png', jpg: 'image/jpeg', jpeg: 'image/jpeg', tif: 'image/tiff', tiff: 'image/tiff', webp: 'image/webp' };
const STATUS_RANK = { awaiting_upload: 0, queued: 1, processing: 2, completed: 3, failed: 3, deleted: 4 };
const PING_MS = 5 * 60_000;

const $ = (id) => document.getElementById(id);
const state = {
  api: '',
  accessToken: null,
  email: null,
  tasks: new Map(), // id → task (as GET /v1/tasks answers)
  lastMessage: new Map(), // id → last applied task.status message
  socket: null,
  reconnectDelay: 1000,
  reconnectTimer: null,
  pingTimer: null,
  viewing: null,
};

// ---------------------------------------------------------------- API client

class ApiProblem extends Error {
  constructor(status, problem) {
    super(problem?.detail || problem?.title || `HTTP ${status}`);
    this.status = status;
    this.code = problem?.code;
    this.errors = problem?.errors;
  }
}

async function call(path, { method = 'GET', body, auth = true, retry = true } = {}) {
  const headers = {};
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (auth && state.accessToken) headers.authorization = `Bearer ${state.accessToken}`;
  const response = await fetch(`${state.api}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), credentials: 'omit' });
  if (response.status === 401 && auth && retry && (await refresh())) return call(path, { method, body, auth, retry: false });
  if (response.status === 401 && auth) signedOut('Your session has ended; sign in again.');
  if (!response.ok) throw new ApiProblem(response.status, await response.json().catch(() => null));
  if (response.status === 204) return null;
  const type = response.headers.get('content-type') || '';
  return type.includes('json') ? response.json() : response.text();
}

let refreshing = null;
/** One refresh at a time: the refresh token is single-use (reuse ends the whole session). */
function refresh() {
  refreshing ??= (async () => {
    const refreshToken = sessionStorage.getItem(REFRESH_KEY);
    if (!refreshToken) return false;
    try {
      const tokens = await call('/auth/refresh', { method: 'POST', body: { refreshToken }, auth: false });
      keepTokens(tokens);
      return true;
    } catch {
      sessionStorage.removeItem(REFRESH_KEY);
      return false;
    }
  })().finally(() => (refreshing = null));
  return refreshing;
}

function keepTokens(tokens) {
  state.accessToken = tokens.accessToken;
  sessionStorage.setItem(REFRESH_KEY, tokens.refreshToken);
}

// ---------------------------------------------------------------- sign in

async function onAuthSubmit(event) {
  event.preventDefault();
  const form = event.currentTarget;
  const action = event.submitter?.value || 'login';
  const email = form.elements.email.value.trim();
  const password = form.elements.password.value;
  const message = $('auth-message');
  message.textContent = '';
  try {
    if (action === 'register') {
      const created = await call('/auth/register', { method: 'POST', body: { email, password }, auth: false });
      if (created.approvalPending) {
        message.textContent = 'Account created; an admin must approve it before you can sign in.';
        return;
      }
    }
    keepTokens(await call('/auth/login', { method: 'POST', body: { email, password }, auth: false }));
    form.reset();
    await signedIn();
  } catch (error) {
    message.textContent = describe(error);
  }
}

async function signedIn() {
  const { user } = await call('/me');
  state.email = user.email;
  $('who').textContent = user.email;
  $('auth').hidden = true;
  $('session').hidden = false;
  $('workspace').hidden = false;
  await loadTasks();
  connect();
}

function signedOut(reason = '') {
  state.accessToken = null;
  sessionStorage.removeItem(REFRESH_KEY);
  closeSocket();
  state.tasks.clear();
  state.lastMessage.clear();
  closeViewer();
  renderTasks();
  $('workspace').hidden = true;
  $('session').hidden = true;
  $('auth').hidden = false;
  $('auth-message').textContent = reason;
}

async function onSignOut() {
  try {
    await call('/auth/logout', { method: 'POST', retry: false });
  } catch {
    // Signing out locally is what matters; the session expires on its own.
  }
  signedOut();
}

// ---------------------------------------------------------------- tasks

async function loadTasks() {
  const fresh = new Map();
  let cursor = null;
  // Newest first; a page is enough for a list on screen, a few pages for a busy account.
  for (let i = 0; i < 5; i += 1) {
    const query = new URLSearchParams({ limit: '100' });
    if (cursor) query.set('cursor', cursor);
    const page = await call(`/tasks?${query}`);
    for (const task of page.items) fresh.set(task.id, task);
    cursor = page.nextCursor;
    if (!cursor) break;
  }
  state.tasks = fresh;
  renderTasks();
}

function renderTasks() {
  const rows = $('task-rows');
  const tasks = [...state.tasks.values()].sort((a, b) => (a.createdAt < b.createdAt ? 1 : -1));
  rows.replaceChildren(...tasks.map(taskRow));
  $('no-tasks').hidden = tasks.length > 0;
}

function taskRow(task) {
  const row = document.createElement('tr');
  row.dataset.taskId = task.id;
  row.dataset.status = task.status;
  const name = cell(task.filename ?? '(no name)');
  name.className = 'name';
  const status = cell('');
  const badge = document.createElement('span');
  badge.className = `status status-${task.status}`;
  badge.textContent = task.status.replace('_', ' ');
  status.append(badge);
  if (task.status === 'failed') {
    const why = document.createElement('span');
    why.className = 'error';
    why.textContent = task.errorMessage || task.errorCode || '';
    status.append(why);
  }
  const pages = cell(task.pageCount ? `${task.pagesDone}/${task.pageCount}` : '–');
  if (task.status === 'processing' && task.pageCount) {
    const bar = document.createElement('progress');
    bar.max = task.pageCount;
    bar.value = task.pagesDone;
    pages.append(bar);
  }
  const created = cell(new Date(task.createdAt).toLocaleString());
  const actions = cell('');
  actions.className = 'row-actions';
  if (task.status === 'completed') actions.append(button('View', () => openViewer(task.id), 'view'));
  actions.append(button('Delete', () => deleteTask(task.id), 'secondary'));
  row.append(name, status, pages, created, actions);
  return row;
}

function cell(text) {
  const td = document.createElement('td');
  td.textContent = text;
  return td;
}

function button(label, onClick, className = '') {
  const b = document.createElement('button');
  b.type = 'button';
  b.textContent = label;
  b.className = className;
  b.addEventListener('click', onClick);
  return b;
}

async function deleteTask(taskId) {
  try {
    await call(`/tasks/${taskId}`, { method: 'DELETE' });
  } catch (error) {
    if (error.status !== 404) return void ($('upload-message').textContent = describe(error));
  }
  state.tasks.delete(taskId);
  if (state.viewing === taskId) closeViewer();
  renderTasks();
}

/** Re-reads one task over HTTP (the truth) when a message hints at something the list lacks. */
async function refreshTask(taskId) {
  try {
    const { task } = await call(`/tasks/${taskId}`);
    const known = state.tasks.get(taskId);
    if (!known || STATUS_RANK[task.status] >= STATUS_RANK[known.status]) state.tasks.set(taskId, task);
  } catch (error) {
    if (error.status === 404) state.tasks.delete(taskId);
  }
  renderTasks();
}

// ---------------------------------------------------------------- upload

function contentTypeOf(file) {
  const extension = /\.([^.]+)$/.exec(file.name)?.[1]?.toLowerCase();
  return (extension && TYPES[extension]) || null;
}

async function sha256Hex(file) {
  if (!globalThis.crypto?.subtle) throw new Error('This page needs a secure context (https, or http on localhost) to checksum files.');
  const digest = await crypto.subtle.digest('SHA-256', await file.arrayBuffer());
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

async function upload(file) {
  const message = $('upload-message');
  const contentType = contentTypeOf(file);
  if (!contentType) {
    message.textContent = `${file.name}: not a PDF, PNG, JPEG, TIFF or WebP file.`;
    return;
  }
  try {
    const sha256 = await sha256Hex(file);
    const { task, upload: target } = await call('/tasks', { method: 'POST', body: { filename: file.name, contentType, size: file.size, sha256 } });
    state.tasks.set(task.id, task);
    renderTasks();
    // Exactly the headers the API returned: the URL signs them (the browser sets Content-Length).
    const put = await fetch(target.url, { method: target.method, headers: target.headers, body: file, credentials: 'omit' });
    if (!put.ok) throw new Error(`the upload was refused (HTTP ${put.status})`);
  } catch (error) {
    message.textContent = `${file.name}: ${describe(error)}`;
  }
}

function uploadAll(files) {
  $('upload-message').textContent = '';
  return Promise.all([...files].map(upload));
}

function setUpDropZone() {
  const drop = $('drop');
  const input = $('file-input');
  input.addEventListener('change', () => {
    void uploadAll(input.files).finally(() => (input.value = ''));
  });
  for (const type of ['dragenter', 'dragover']) {
    drop.addEventListener(type, (event) => {
      event.preventDefault();
      drop.classList.add('over');
    });
  }
  for (const type of ['dragleave', 'drop']) drop.addEventListener(type, () => drop.classList.remove('over'));
  drop.addEventListener('drop', (event) => {
    event.preventDefault();
    if (event.dataTransfer?.files.length) void uploadAll(event.dataTransfer.files);
  });
}

// ---------------------------------------------------------------- live updates

async function connect() {
  if (!state.accessToken || state.socket) return;
  clearTimeout(state.reconnectTimer);
  setLive('connecting');
  let url;
  try {
    ({ url } = await call('/ws-ticket', { method: 'POST' }));
  } catch {
    return scheduleReconnect();
  }
  if (!state.accessToken) return;
  const socket = new WebSocket(url);
  state.socket = socket;
  let opened = false;
  socket.addEventListener('open', () => {
    opened = true;
    state.reconnectDelay = 1000;
    setLive('live');
    state.pingTimer = setInterval(() => socket.send(JSON.stringify({ action: 'ping' })), PING_MS);
    // Messages sent while we were away are gone: the HTTP API is the truth.
    void loadTasks().catch(() => undefined);
  });
  socket.addEventListener('message', (event) => onMessage(event.data));
  socket.addEventListener('close', () => {
    clearInterval(state.pingTimer);
    if (state.socket !== socket) return;
    state.socket = null;
    if (!opened) state.reconnectDelay = Math.min(state.reconnectDelay * 2, 30_000);
    if (state.accessToken) scheduleReconnect();
  });
}

function scheduleReconnect() {
  setLive('offline');
  clearTimeout(state.reconnectTimer);
  const delay = state.reconnectDelay * (0.75 + Math.random() * 0.5);
  state.reconnectDelay = Math.min(state.reconnectDelay * 2, 30_000);
  state.reconnectTimer = setTimeout(() => void connect(), delay);
}

function closeSocket() {
  clearTimeout(state.reconnectTimer);
  clearInterval(state.pingTimer);
  const socket = state.socket;
  state.socket = null;
  socket?.close(1000);
  setLive('offline');
}

function setLive(value) {
  const live = $('live');
  live.dataset.state = value;
  live.textContent = value;
}

/**
 * The seq rule (src/realtime/messages.ts): a higher seq is newer; a lower one is stale; an equal
 * one is a progress update of the same transition, applied only when pagesDone grew or the
 * status differs.
 */
function isNewerStatus(last, next) {
  if (!last || next.seq > last.seq) return true;
  if (next.seq < last.seq) return false;
  return next.pagesDone > last.pagesDone || next.status !== last.status;
}

function onMessage(data) {
  let message;
  try {
    message = JSON.parse(data);
  } catch {
    return;
  }
  if (message?.type !== 'task.status' || typeof message.taskId !== 'string') return;
  if (!isNewerStatus(state.lastMessage.get(message.taskId), message)) return;
  state.lastMessage.set(message.taskId, message);
  const task = state.tasks.get(message.taskId);
  // A task from another tab or client, or an end state whose details (error text, result) we want.
  if (!task || message.status === 'failed' || message.status === 'completed') {
    if (task) Object.assign(task, pick(message));
    return void refreshTask(message.taskId);
  }
  // Never backwards, whatever arrives: a list refreshed over HTTP may already be ahead.
  if (STATUS_RANK[message.status] < STATUS_RANK[task.status]) return;
  Object.assign(task, pick(message));
  if (message.status === 'deleted') state.tasks.delete(message.taskId);
  renderTasks();
}

const pick = (m) => ({ status: m.status, pagesDone: m.pagesDone, pageCount: m.pageCount, ...(m.errorCode ? { errorCode: m.errorCode } : {}) });

// ---------------------------------------------------------------- viewer

const SVG = 'http://www.w3.org/2000/svg';
let pageObserver = null;

async function openViewer(taskId) {
  closeViewer();
  state.viewing = taskId;
  const task = state.tasks.get(taskId);
  $('viewer').hidden = false;
  $('viewer-title').textContent = task?.filename ?? 'Result';
  $('viewer-message').textContent = 'Loading…';
  try {
    const [doc, html] = await Promise.all([call(`/tasks/${taskId}/result?format=json`), loadResultHtml(taskId)]);
    if (state.viewing !== taskId) return;
    showResultHtml(html);
    showPages(taskId, doc);
    $('viewer-message').textContent = `${doc.pageCount} page${doc.pageCount === 1 ? '' : 's'}`;
    $('viewer').scrollIntoView({ behavior: 'smooth', block: 'start' });
  } catch (error) {
    $('viewer-message').textContent = describe(error);
  }
}

async function loadResultHtml(taskId) {
  const { url } = await call(`/tasks/${taskId}/result?format=html`);
  const response = await fetch(url, { credentials: 'omit' });
  if (!response.ok) throw new Error(`the result could not be fetched (HTTP ${response.status})`);
  return response.text();
}

/**
 * The result goes into `<iframe sandbox srcdoc>`: parsed inertly first (DOMParser runs no script
 * and loads nothing) to drop anything that could load or navigate, should the sanitizer ever
 * miss it, then shown in an opaque origin where the sandbox refuses scripts, forms, popups and
 * navigating this page. The frame inherits this page's policy, so it loads nothing either; it
 * keeps the browser's default styles (a stylesheet would block its rendering until loaded).
 */
function showResultHtml(html) {
  const doc = new DOMParser().parseFromString(html, 'text/html');
  for (const node of doc.querySelectorAll('script, link, style, meta[http-equiv], base, iframe, frame, object, embed, form')) node.remove();
  // A new frame each time, its document set before it is attached: one navigation, never a
  // reused frame navigating away from an older result.
  const frame = document.createElement('iframe');
  frame.id = 'result-frame';
  frame.className = 'result';
  frame.title = 'Sanitized HTML result';
  frame.setAttribute('sandbox', '');
  frame.srcdoc = `<!DOCTYPE html>\n${doc.documentElement.outerHTML}`;
  $('result-frame').replaceWith(frame);
}

function showPages(taskId, doc) {
  const container = $('pages');
  pageObserver = new IntersectionObserver(
    (entries) => {
      for (const entry of entries) {
        if (!entry.isIntersecting) continue;
        pageObserver.unobserve(entry.target);
        void loadPageImage(taskId, entry.target);
      }
    },
    { rootMargin: '400px' },
  );
  for (const page of doc.pages) {
    const figure = pageFigure(page);
    container.append(figure);
    pageObserver.observe(figure);
  }
}

/** A page as its boxes: an SVG in page pixels (its viewBox), laid over the preview image once loaded. */
function pageFigure(page) {
  const figure = document.createElement('figure');
  figure.className = 'page';
  figure.dataset.page = String(page.page);
  const image = document.createElement('img');
  image.alt = `Page ${page.page}`;
  image.hidden = true;
  const svg = document.createElementNS(SVG, 'svg');
  svg.setAttribute('viewBox', `0 0 ${page.width} ${page.height}`);
  svg.setAttribute('preserveAspectRatio', 'none');
  svg.setAttribute('class', 'boxes');
  for (const block of page.blocks) {
    if (!block.bbox) continue;
    const [x1, y1, x2, y2] = block.bbox;
    const rect = document.createElementNS(SVG, 'rect');
    rect.setAttribute('x', String(x1));
    rect.setAttribute('y', String(y1));
    rect.setAttribute('width', String(Math.max(1, x2 - x1)));
    rect.setAttribute('height', String(Math.max(1, y2 - y1)));
    rect.setAttribute('class', `box box-${block.kind}`);
    const title = document.createElementNS(SVG, 'title');
    title.textContent = block.text;
    rect.append(title);
    svg.append(rect);
  }
  const caption = document.createElement('figcaption');
  // A page another source read after the model gave up says so, with the model's reason.
  const fallback = page.fallback ? ` (fallback: ${page.fallback.reason})` : '';
  caption.textContent = `Page ${page.page} · ${page.engine}${fallback}${page.confidence === null ? '' : ` · ${Math.round(page.confidence * 100)}%`}`;
  const sheet = document.createElement('div');
  sheet.className = 'sheet';
  sheet.append(image, svg);
  figure.append(sheet, caption);
  return figure;
}

async function loadPageImage(taskId, figure) {
  const image = figure.querySelector('img');
  try {
    const { url } = await call(`/tasks/${taskId}/pages/${figure.dataset.page}/image`);
    image.addEventListener('load', () => (image.hidden = false), { once: true });
    // No preview stored (a result from before previews): the boxes stay on a blank page.
    image.addEventListener('error', () => figure.classList.add('no-image'), { once: true });
    image.src = url;
  } catch {
    figure.classList.add('no-image');
  }
}

function closeViewer() {
  state.viewing = null;
  pageObserver?.disconnect();
  pageObserver = null;
  $('viewer').hidden = true;
  $('pages').replaceChildren();
  $('result-frame').replaceWith(Object.assign(document.createElement('div'), { id: 'result-frame', className: 'result' }));
}

// ---------------------------------------------------------------- start

function describe(error) {
  if (error instanceof ApiProblem && error.errors?.length) return error.errors.map((e) => `${e.field}: ${e.message}`).join('; ');
  return error instanceof Error ? error.message : String(error);
}

async function start() {
  const config = await (await fetch('config.json', { credentials: 'omit' })).json();
  // Relative to the page: "/v1" locally (same origin), a full URL when the API lives elsewhere.
  state.api = new URL(config.apiBaseUrl, document.baseURI).href.replace(/\/+$/, '');
  $('auth-form').addEventListener('submit', onAuthSubmit);
  $('sign-out').addEventListener('click', onSignOut);
  $('viewer-close').addEventListener('click', closeViewer);
  setUpDropZone();
  if (await refresh()) {
    try {
      return await signedIn();
    } catch {
      // Fall through to the sign-in form.
    }
  }
  signedOut();
}

void start();
