/**
 * The dashboard's entry point: one EventSource on GET /api/stream feeds every panel; controls call
 * the HTTP API and the stream shows the result. Never a manual refresh.
 */
import { onUnauthorized, setToken } from './api.js';
import { $, fill, h } from './dom.js';
import { initDivergence } from './divergence.js';
import { initKappa } from './kappa-panel.js';
import { initLambda } from './lambda-panel.js';
import { initOverview } from './overview.js';
import { initScenarios } from './scenarios-panel.js';

const listeners = new Map();
/** The latest payload of each stream event, for panels that need another panel's data. */
export const latest = {};

export function on(event, fn) {
  if (!listeners.has(event)) listeners.set(event, []);
  listeners.get(event).push(fn);
}

function dispatch(event, data) {
  latest[event] = data;
  for (const fn of listeners.get(event) ?? []) {
    try {
      fn(data);
    } catch (err) {
      console.warn(`dashboard: the ${event} handler failed`, err);
    }
  }
}

/** The lab's clock as last reported by the stream (the dashboard never trusts the browser's). */
export function labNow() {
  return latest.live?.at ?? latest.hello?.at ?? null;
}

const STREAM_EVENTS = [
  'hello',
  'live',
  'lambda',
  'kappa',
  'batch-runs',
  'metrics',
  'history',
  'mark',
  'marks',
  'health',
  'stream-error',
];

function connect() {
  const conn = $('conn');
  const source = new EventSource('/api/stream');
  let lastMessage = 0;
  source.addEventListener('open', () => {
    conn.className = 'pill pill-ok';
    conn.textContent = 'live';
    banner('stream', null);
  });
  source.addEventListener('error', () => {
    conn.className = 'pill pill-bad';
    conn.textContent = 'reconnecting…';
    banner(
      'stream',
      'Lost the live connection to the lab (GET /api/stream); reconnecting every 2 s. Figures below are frozen until it is back.',
      'bad',
    );
  });
  for (const name of STREAM_EVENTS) {
    source.addEventListener(name, (e) => {
      lastMessage = performance.now();
      let data;
      try {
        data = JSON.parse(e.data);
      } catch {
        return;
      }
      dispatch(name, data);
    });
  }
  // A stream that is open but silent (a stuck proxy, a paused server) is shown too.
  setInterval(() => {
    if (source.readyState === EventSource.OPEN && lastMessage && performance.now() - lastMessage > 10_000) {
      conn.className = 'pill pill-wait';
      conn.textContent = 'stalled';
    }
  }, 2000);
}

const banners = new Map();
/** Shows (text) or clears (null) a named banner above the panels. */
export function banner(key, text, level = 'warn') {
  if (text) banners.set(key, { text, level });
  else banners.delete(key);
  fill(
    $('banners'),
    [...banners.values()].map((b) => h('div', { class: `banner banner-${b.level}`, role: 'alert' }, b.text)),
  );
}

function initHealth() {
  on('health', (health) => {
    const pill = $('health-pill');
    const down = health.dependencies.filter((d) => d.state === 'down');
    pill.className = `pill ${down.length ? 'pill-bad' : 'pill-ok'}`;
    pill.textContent = down.length ? `${down.length} down` : 'all up';
    pill.title = health.dependencies.map((d) => `${d.name} (${d.kind}): ${d.state} — ${d.detail}`).join('\n');
    banner(
      'health',
      down.length
        ? `${down.map((d) => `${d.name} (${d.kind}) is down: ${d.detail}`).join(' · ')}. The layers that need it stall until it is back; the lab retries on its own.`
        : null,
      'bad',
    );
  });
  on('stream-error', (e) => console.warn('dashboard: the stream reported', e.message));
  on('hello', (hello) => {
    $('foot-mode').textContent = `stream every ${hello.intervalMs} ms`;
  });
  on('live', (live) => {
    $('foot-mode').textContent = `${live.mode} mode · up ${Math.round(live.uptimeMs / 1000)} s`;
  });
}

/** A lab started with a token (server.token) refuses control requests without it: ask once per tab. */
function initToken() {
  const form = $('token-form');
  onUnauthorized(() => {
    form.hidden = false;
    $('token-input').focus();
  });
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    setToken($('token-input').value.trim());
    $('token-input').value = '';
    form.hidden = true;
  });
}

function start() {
  initToken();
  initHealth();
  initOverview({ on, latest });
  initDivergence({ on, labNow });
  initLambda({ on, latest });
  initKappa({ on, latest });
  initScenarios({ on, latest });
  connect();
}

if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
else start();
