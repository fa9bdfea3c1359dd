/**
 * The charts of BENCHMARKS.md, rendered headlessly: a local HTML page with chart.js (from
 * node_modules, inlined: no request leaves the machine) screenshotted by playwright-core in
 * Debian's Chromium (LKLAB_CHROMIUM overrides /usr/bin/chromium). Returns the PNG paths.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { chromium } from 'playwright-core';
import {
  ARCH_LABEL,
  modeLabel,
  loadRows,
  mapreduceRows,
  memoryRows,
  replayRows,
  type BenchResults,
} from './bench-results.js';

const CHROMIUM = process.env.LKLAB_CHROMIUM ?? '/usr/bin/chromium';
const COLORS = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f'];

interface ChartSpec {
  name: string;
  config: Record<string, unknown>;
}

function title(text: string): Record<string, unknown> {
  return { display: true, text, font: { size: 15 } };
}

export function chartSpecs(r: BenchResults): ChartSpec[] {
  const specs: ChartSpec[] = [];
  const subtitle = `${r.profile} profile, ${r.startedAt.slice(0, 10)}, ${r.machine.cores} × ${r.machine.cpu}`;

  const load = loadRows(r).filter((x) => x.p50 !== null);
  if (load.length) {
    const rates = [...new Set(load.map((x) => x.targetRate))].sort((a, b) => a - b);
    const keys = [...new Set(load.map((x) => `${x.arch}|${x.mode}`))];
    const datasets: unknown[] = [];
    keys.forEach((k, i) => {
      const [arch, mode] = k.split('|') as [string, string];
      const label = `${ARCH_LABEL[arch] ?? arch}, ${modeLabel(arch, mode)}`;
      const at = (rate: number, f: 'p50' | 'p99'): number | null =>
        load.find((x) => x.arch === arch && x.mode === mode && x.targetRate === rate)?.[f] ?? null;
      for (const f of ['p50', 'p99'] as const)
        datasets.push({
          label: `${label} ${f}`,
          data: rates.map((rate) => at(rate, f)),
          borderColor: COLORS[i % COLORS.length],
          backgroundColor: COLORS[i % COLORS.length],
          borderDash: f === 'p99' ? [6, 4] : [],
          pointRadius: 6,
          pointStyle: f === 'p99' ? 'triangle' : 'circle',
          spanGaps: false,
        });
    });
    specs.push({
      name: 'bench-load-latency',
      config: {
        type: 'line',
        data: { labels: rates.map((x) => `${x / 1000} K`), datasets },
        options: {
          plugins: {
            legend: { labels: { usePointStyle: true } },
            title: title('YSB final-event latency per load step (ms; ● p50 solid, ▲ p99 dashed)'),
            subtitle: { display: true, text: subtitle },
          },
          scales: {
            x: { offset: true, title: { display: true, text: 'target events/s' } },
            y: { title: { display: true, text: 'ms' }, beginAtZero: true },
          },
        },
      },
    });
  }

  const replay = replayRows(r);
  if (replay.length) {
    const sizes = [...new Set(replay.map((x) => x.events))].sort((a, b) => a - b);
    const kinds: Array<[ReturnType<typeof replayRows>[number]['kind'], string]> = [
      ['embedded', 'ours, embedded log (best engine)'],
      ['kafka', 'ours, Kafka → Redis (best engine)'],
      ['peer', 'Kafka Streams peer (from start)'],
      ['peer-steady', 'Kafka Streams peer (from first record)'],
      ['flink', 'Flink peer (from start)'],
      ['flink-steady', 'Flink peer (from first record)'],
      ['ceiling', 'ConsumerPerformance (consume only)'],
    ];
    specs.push({
      name: 'bench-replay',
      config: {
        type: 'bar',
        data: {
          labels: sizes.map((n) => (n >= 1e6 ? `${n / 1e6} M` : `${n / 1e3} K`)),
          datasets: kinds
            .filter(([k]) => replay.some((x) => x.kind === k))
            .map(([k, label], i) => ({
              label,
              backgroundColor: COLORS[i],
              data: sizes.map((n) => {
                const v = replay.filter((x) => x.kind === k && x.events === n).map((x) => x.eventsPerSec);
                return v.length ? Math.max(...v) : null;
              }),
            })),
        },
        options: {
          plugins: {
            title: title('Replay rate against history size (events/s)'),
            subtitle: { display: true, text: subtitle },
          },
          scales: {
            x: { title: { display: true, text: 'history (events)' } },
            y: { title: { display: true, text: 'events/s' }, beginAtZero: true },
          },
        },
      },
    });
  }

  const mr = mapreduceRows(r);
  if (mr.length) {
    specs.push({
      name: 'bench-mapreduce',
      config: {
        type: 'bar',
        data: {
          labels: mr.map((x) => `${x.events / 1e6} M`),
          datasets: [
            {
              label: 'MapReduce run (map → shuffle → reduce → publish)',
              backgroundColor: COLORS[0],
              data: mr.map((x) => x.mapreduceMs),
            },
            {
              label: 'one plain DuckDB GROUP BY',
              backgroundColor: COLORS[1],
              data: mr.map((x) => x.plainMs),
            },
          ],
        },
        options: {
          plugins: {
            title: title('Batch layer against history size (ms, median round)'),
            subtitle: { display: true, text: subtitle },
          },
          scales: {
            x: { title: { display: true, text: 'history (events)' } },
            y: { title: { display: true, text: 'ms' }, beginAtZero: true },
          },
        },
      },
    });
  }

  const mem = memoryRows(r);
  if (mem.length) {
    specs.push({
      name: 'bench-memory',
      config: {
        type: 'bar',
        data: {
          labels: mem.map((x) => x.component),
          datasets: [
            {
              label: 'peak RSS (MiB)',
              backgroundColor: COLORS[2],
              data: mem.map((x) => Math.round(x.peakRssBytes / 2 ** 20)),
            },
          ],
        },
        options: {
          indexAxis: 'y',
          plugins: {
            title: title('Peak memory per component (MiB)'),
            subtitle: { display: true, text: subtitle },
            legend: { display: false },
          },
          scales: { x: { beginAtZero: true, title: { display: true, text: 'MiB' } } },
        },
      },
    });
  }
  return specs;
}

function page(specs: ChartSpec[]): string {
  const require = createRequire(import.meta.url);
  // chart.js's package exports do not list the UMD build; it sits beside the main entry.
  const chartJs = readFileSync(join(dirname(require.resolve('chart.js')), 'chart.umd.js'), 'utf8');
  const blocks = specs
    .map((s) => `<div class="chart" id="${s.name}"><canvas width="1000" height="520"></canvas></div>`)
    .join('\n');
  return `<!doctype html><html><head><meta charset="utf-8"><style>
body{margin:0;background:#fff;font-family:sans-serif}.chart{width:1000px;height:520px;padding:10px;background:#fff}
</style><script>${chartJs.replace(/<\/script/gi, '<\\/script')}</script></head><body>${blocks}
<script>
const specs = ${JSON.stringify(specs).replace(/</g, '\\u003c')};
Chart.defaults.animation = false;
Chart.defaults.responsive = false;
for (const s of specs) new Chart(document.querySelector('#' + s.name + ' canvas'), s.config);
window.chartsDone = true;
</script></body></html>`;
}

export async function renderCharts(r: BenchResults, dir: string): Promise<string[]> {
  const specs = chartSpecs(r);
  if (specs.length === 0) return [];
  if (!existsSync(CHROMIUM))
    throw new Error(`no Chromium at ${CHROMIUM} (apt-get install chromium, or set LKLAB_CHROMIUM)`);
  mkdirSync(dir, { recursive: true });
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  try {
    const p = await browser.newPage({ viewport: { width: 1020, height: 600 } });
    // Nothing may leave the machine: the page is self-contained.
    await p.route('**/*', (route) =>
      route.request().url().startsWith('data:') ? route.continue() : route.abort(),
    );
    await p.setContent(page(specs), { waitUntil: 'load' });
    await p.waitForFunction(() => (globalThis as { chartsDone?: boolean }).chartsDone === true);
    const out: string[] = [];
    for (const s of specs) {
      const file = join(dir, `${s.name}.png`);
      await p.locator(`#${s.name}`).screenshot({ path: file });
      out.push(file);
    }
    return out;
  } finally {
    await browser.close();
  }
}
