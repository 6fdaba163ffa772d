// Writes the benchmark's results as one HTML page with inline SVG charts (no dependencies).
import fs from 'node:fs';
import type { LongResult, StepResult } from './benchTypes.ts';

interface Results {
  startedAt: string;
  machine: Record<string, unknown>;
  steps: StepResult[];
  burst?: StepResult;
  long: LongResult[];
}

interface Series {
  name: string;
  color: string;
  points: Array<[number, number]>;
}

function escape(text: string): string {
  return text.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);
}

function lineChart(title: string, xLabel: string, yLabel: string, series: Series[], options: { stacked?: boolean; yMax?: number } = {}): string {
  const width = 640;
  const height = 300;
  const margin = { left: 60, right: 170, top: 30, bottom: 45 };
  const xs = series.flatMap((s) => s.points.map(([x]) => x));
  if (xs.length === 0) return `<p>${escape(title)}: no data</p>`;
  const stacked = options.stacked ?? false;
  const totals = new Map<number, number>();
  const drawn = series.map((s) => ({
    ...s,
    points: s.points.map(([x, y]) => {
      const base = stacked ? (totals.get(x) ?? 0) : 0;
      if (stacked) totals.set(x, base + y);
      return [x, base + y] as [number, number];
    }),
  }));
  const xMin = Math.min(...xs);
  const xMax = Math.max(...xs);
  const yMax = options.yMax ?? Math.max(1e-9, ...drawn.flatMap((s) => s.points.map(([, y]) => y))) * 1.1;
  const sx = (x: number) => margin.left + (xMax === xMin ? 0.5 : (x - xMin) / (xMax - xMin)) * (width - margin.left - margin.right);
  const sy = (y: number) => height - margin.bottom - (y / yMax) * (height - margin.top - margin.bottom);
  const ticks = Array.from({ length: 5 }, (_, i) => (yMax * i) / 4);
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="11">`,
    `<text x="${margin.left}" y="18" font-size="13" font-weight="bold">${escape(title)}</text>`,
    `<line x1="${margin.left}" y1="${sy(0)}" x2="${width - margin.right}" y2="${sy(0)}" stroke="#444"/>`,
    `<line x1="${margin.left}" y1="${sy(0)}" x2="${margin.left}" y2="${margin.top}" stroke="#444"/>`,
    ...ticks.map((t) => `<text x="${margin.left - 6}" y="${sy(t) + 4}" text-anchor="end">${Number(t.toPrecision(3))}</text><line x1="${margin.left}" y1="${sy(t)}" x2="${width - margin.right}" y2="${sy(t)}" stroke="#ddd"/>`),
    ...[...new Set(xs)].map((x) => `<text x="${sx(x)}" y="${height - margin.bottom + 15}" text-anchor="middle">${x}</text>`),
    `<text x="${(margin.left + width - margin.right) / 2}" y="${height - 8}" text-anchor="middle">${escape(xLabel)}</text>`,
    `<text x="14" y="${(margin.top + height - margin.bottom) / 2}" transform="rotate(-90 14 ${(margin.top + height - margin.bottom) / 2})" text-anchor="middle">${escape(yLabel)}</text>`,
  ];
  drawn.forEach((s, index) => {
    const path = s.points.map(([x, y], i) => `${i === 0 ? 'M' : 'L'}${sx(x).toFixed(1)},${sy(y).toFixed(1)}`).join(' ');
    parts.push(`<path d="${path}" fill="none" stroke="${s.color}" stroke-width="2"/>`);
    for (const [x, y] of s.points) parts.push(`<circle cx="${sx(x).toFixed(1)}" cy="${sy(y).toFixed(1)}" r="3" fill="${s.color}"/>`);
    parts.push(`<rect x="${width - margin.right + 12}" y="${margin.top + index * 18}" width="10" height="10" fill="${s.color}"/><text x="${width - margin.right + 27}" y="${margin.top + index * 18 + 9}">${escape(s.name)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('\n');
}

const colors = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2'];

export function writeReport(results: Results, file: string): void {
  const steps = results.steps;
  const groups = ['service', 'mediasoupWorkers', 'recorderFfmpeg', 'liveRemuxFfmpeg', 'objectStore', 'publisherFfmpeg'];
  const cpu = lineChart(
    'CPU by process group (stacked; publishers are the load generator)',
    'concurrent interviews',
    'cores',
    groups.map((group, index) => ({ name: group, color: colors[index]!, points: steps.map((s) => [s.interviews, s.cpu[group]?.cores ?? 0] as [number, number]) })),
    { stacked: true, yMax: Math.max(2, ...steps.map((s) => s.machineBusyCores)) * 1.05 },
  );
  const loss = lineChart('Packet loss', 'concurrent interviews', '% of packets', [
    { name: 'ingest (producers)', color: colors[0]!, points: steps.map((s) => [s.interviews, s.loss.ingest * 100]) },
    { name: 'UDP socket drops', color: colors[1]!, points: steps.map((s) => [s.interviews, s.loss.udpDrops * 100]) },
    { name: 'holes in files: audio', color: colors[2]!, points: steps.map((s) => [s.interviews, s.loss.audioToFile * 100]) },
    { name: 'holes in files: video', color: colors[4]!, points: steps.map((s) => [s.interviews, s.loss.videoToFile * 100]) },
    { name: '0.1 % limit', color: '#999', points: steps.map((s) => [s.interviews, 0.1]) },
  ]);
  const memory = lineChart('Memory (pipeline: service + workers + recorder + remux)', 'concurrent interviews', 'MB', [
    { name: 'RSS', color: colors[0]!, points: steps.map((s) => [s.interviews, s.perInterview.pipelineRssMB * s.interviews]) },
    { name: 'PSS', color: colors[1]!, points: steps.map((s) => [s.interviews, s.perInterview.pipelinePssMB * s.interviews]) },
  ]);
  const latency = lineChart('End → URLs, all interviews ended at once', 'concurrent interviews', 'ms', [
    { name: 'p50', color: colors[0]!, points: steps.map((s) => [s.interviews, s.endToUrlsMs.p50]) },
    { name: 'p95', color: colors[3]!, points: steps.map((s) => [s.interviews, s.endToUrlsMs.p95]) },
  ]);
  const long = lineChart('End → URLs by recording length (one interview)', 'minutes recorded', 'ms', [
    { name: 'p50', color: colors[0]!, points: results.long.map((l) => [l.minutes, l.p50]) },
    { name: 'p95', color: colors[3]!, points: results.long.map((l) => [l.minutes, l.p95]) },
    { name: 'Complete+Head (max)', color: colors[4]!, points: results.long.map((l) => [l.minutes, l.completeMsMax]) },
  ]);
  // The burst step has floors too: one curve over every N measured.
  const withFloors = [...steps, ...(results.burst ? [results.burst] : [])].filter((s) => s.floors).sort((a, b) => a.interviews - b.interviews);
  const floors = lineChart('Cores per interview: our pipeline beside the floors of the design', 'concurrent interviews', 'cores / interview', [
    { name: 'ours (service+workers+recorder+remux)', color: colors[0]!, points: withFloors.map((s) => [s.interviews, s.perInterview.totalPipelineCores]) },
    { name: 'floor: SFU + bare ffmpeg', color: colors[1]!, points: withFloors.map((s) => [s.interviews, s.floors?.ffmpeg?.perInterview.floorCores ?? 0]) },
    { name: 'floor: SFU alone', color: colors[2]!, points: withFloors.map((s) => [s.interviews, s.floors?.sfu?.perInterview.floorCores ?? 0]) },
    { name: 'Node UDP sink (SFU floor)', color: colors[5]!, points: withFloors.map((s) => [s.interviews, s.floors?.sfu?.perInterview.receiverCores ?? 0]) },
    { name: 'target 0.012', color: '#999', points: withFloors.map((s) => [s.interviews, 0.012]) },
  ]);
  const floorRows = withFloors
    .map(
      (s) =>
        `<tr><td>${s.interviews}</td><td>${s.perInterview.totalPipelineCores}</td><td>${s.floors?.sfu?.perInterview.floorCores ?? ''}</td><td>${s.floors?.sfu?.perInterview.receiverCores ?? ''}</td><td>${s.ratioToFloor?.sfu ?? ''}</td><td>${s.floors?.ffmpeg?.perInterview.mediasoupCores ?? ''} + ${s.floors?.ffmpeg?.perInterview.receiverCores ?? ''}</td><td>${s.floors?.ffmpeg?.perInterview.floorCores ?? ''}</td><td>${s.ratioToFloor?.ffmpeg ?? ''}</td></tr>`,
    )
    .join('\n');
  const ends = [...steps.map((s) => ['ramp', s] as const), ...(results.burst ? [['burst', results.burst] as const] : [])];
  // NaN (nothing measured) comes back from the JSON as null.
  const ms = (value: number | null | undefined) => (value === null || value === undefined || Number.isNaN(value) ? '—' : String(value));
  const spread = (value: { p50: number; p95: number } | undefined) => (value ? `${ms(value.p50)} / ${ms(value.p95)}` : '');
  const endRows = ends
    .map(
      ([kind, s]) =>
        `<tr><td>${kind}</td><td>${s.interviews}</td><td>${ms(s.end?.allStoppedMs)}</td><td>${spread(s.end?.endStoredMs)}</td><td>${spread(s.end?.stopMs)}</td><td>${spread(s.endToUrlsMs)}</td><td>${spread(s.end?.oursMs)}</td><td>${spread(s.end?.objectStoreMs)}</td><td>${spread(s.end?.stoppedToFilesMs)}</td><td>${spread(s.end?.filesToUrlsMs)}</td><td>${spread(s.end?.remuxTailMs)}</td><td>${spread(s.end?.partsMs)}</td><td>${spread(s.end?.completeMs)}</td></tr>`,
    )
    .join('\n');
  const profiles = steps
    .filter((s) => s.profile)
    .map(
      (s) =>
        `<h3>CPU profile of the service at N = ${s.interviews} (${escape(s.profile!.file)}), self time, % of the main thread's busy time</h3><table><tr><th>function</th><th>where</th><th>ms</th><th>%</th></tr>${s
          .profile!.top.map((entry) => `<tr><td>${escape(entry.functionName)}</td><td style="text-align:left">${escape(entry.location)}</td><td>${entry.selfMs}</td><td>${entry.selfPercent}</td></tr>`)
          .join('')}</table>`,
    )
    .join('\n');
  const rows = steps
    .map(
      (s) =>
        `<tr><td>${s.interviews}</td><td>${s.machineBusyCores}</td><td>${s.perInterview.totalPipelineCores}</td><td>${s.perInterview.pipelineRssMB}</td><td>${s.perInterview.pipelinePssMB}</td><td>${(s.loss.worst * 100).toFixed(4)}</td><td>${s.files.broken}/${s.files.checked}</td><td>${s.endToUrlsMs.p50}</td><td>${s.endToUrlsMs.p95}</td><td>${s.verdict}</td></tr>`,
    )
    .join('\n');
  const html = `<!doctype html><html><head><meta charset="utf-8"><title>interview-ingest bench ${escape(results.startedAt)}</title>
<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}</style></head><body>
<h1>interview-ingest benchmark</h1>
<p>${escape(results.startedAt)} — ${escape(JSON.stringify(results.machine))}</p>
<table><tr><th>interviews</th><th>machine cores busy</th><th>pipeline cores / interview</th><th>RSS MB / interview</th><th>PSS MB / interview</th><th>worst loss %</th><th>broken files</th><th>end → URLs p50 ms</th><th>p95 ms</th><th>verdict</th></tr>
${rows}</table>
<h2>Floors (same N, measured right after each step)</h2>
<table><tr><th>interviews</th><th>ours cores / interview</th><th>SFU alone</th><th>its Node UDP sink</th><th>ours ÷ SFU</th><th>SFU + bare ffmpeg (workers + ffmpeg)</th><th>total</th><th>ours ÷ it</th></tr>
${floorRows}</table>
${floors}
<h2>End of all interviews at the same instant (ms, p50 / p95)</h2>
<table><tr><th>run</th><th>interviews</th><th>all stopped</th><th>end stored (answer)</th><th>end → stopped</th><th>end → URLs</th><th>ours</th><th>object store</th><th>stopped → files stored</th><th>files stored → URLs</th><th>remux tail (file)</th><th>parts left (file)</th><th>complete + head (file)</th></tr>
${endRows}</table>
${profiles}
${cpu}\n${loss}\n${memory}\n${latency}\n${long}
</body></html>`;
  fs.writeFileSync(file, html);
}

// `npx tsx bench/report.ts OUT_DIR RESULTS.json…`: one report from several runs (e.g. a ramp-only
// and a long-recordings-only run): steps, burst and long results are taken from whichever file has them.
if (process.argv[1]?.endsWith('bench/report.ts')) {
  const [outDir, ...inputs] = process.argv.slice(2);
  if (!outDir || inputs.length === 0) throw new Error('usage: report.ts OUT_DIR RESULTS.json…');
  const runs = inputs.map((input) => JSON.parse(fs.readFileSync(input, 'utf8')) as Results & { sources?: string[] });
  const merged: Results & { sources: string[] } = {
    startedAt: runs[0]!.startedAt,
    machine: runs[0]!.machine,
    steps: runs.find((entry) => entry.steps.length > 0)?.steps ?? [],
    long: runs.find((entry) => entry.long.length > 0)?.long ?? [],
    ...(runs.find((entry) => entry.burst) ? { burst: runs.find((entry) => entry.burst)!.burst! } : {}),
    sources: inputs.map((input) => input.split('/').at(-1)!),
  };
  fs.writeFileSync(`${outDir}/latest.json`, JSON.stringify(merged, null, 2));
  writeReport(merged, `${outDir}/latest.html`);
}
