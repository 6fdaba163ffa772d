// A strict reader of the Prometheus text exposition format (0.0.4), enough to check a scrape:
// every line is a HELP, a TYPE or a sample of a declared family, and values are numbers.
interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Family {
  name: string;
  type: 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';
  help: string;
  samples: Sample[];
}

const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*';
// NaN in any case, as Prometheus's parser (Go's ParseFloat) reads it: prom-client writes `Nan`, e.g.
// the event-loop lag's mean when a scrape comes before any delay was sampled since the last one.
const SAMPLE = new RegExp(`^(${NAME})(?:\\{(.*)\\})? (-?(?:[0-9.]+(?:e[+-]?[0-9]+)?|\\+Inf|-Inf|[Nn][Aa][Nn]))(?: -?\\d+)?$`);
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(?:,|$)/g;

export function parsePrometheusText(text: string): Map<string, Family> {
  const families = new Map<string, Family>();
  const familyOf = (sample: string): Family | undefined =>
    families.get(sample) ?? families.get(sample.replace(/_(bucket|sum|count)$/, '')) ?? families.get(sample.replace(/_total$/, ''));
  for (const [index, line] of text.split('\n').entries()) {
    if (line === '') continue;
    const help = new RegExp(`^# HELP (${NAME}) (.*)$`).exec(line);
    if (help) {
      families.set(help[1]!, { name: help[1]!, type: 'untyped', help: help[2]!, samples: [] });
      continue;
    }
    const type = new RegExp(`^# TYPE (${NAME}) (counter|gauge|histogram|summary|untyped)$`).exec(line);
    if (type) {
      const family = families.get(type[1]!);
      if (!family) throw new Error(`line ${index + 1}: TYPE before HELP for ${type[1]}`);
      family.type = type[2] as Family['type'];
      continue;
    }
    const sample = SAMPLE.exec(line);
    if (!sample) throw new Error(`line ${index + 1} is not Prometheus text: ${line}`);
    const family = familyOf(sample[1]!);
    if (!family) throw new Error(`line ${index + 1}: sample ${sample[1]} of no declared family`);
    const labels: Record<string, string> = {};
    for (const match of (sample[2] ?? '').matchAll(LABEL)) labels[match[1]!] = match[2]!;
    family.samples.push({ name: sample[1]!, labels, value: Number(sample[3]) });
  }
  return families;
}

/** The value of one sample (summed over samples that match `labels`). */
export function valueOf(families: Map<string, Family>, name: string, labels: Record<string, string> = {}): number {
  let total = 0;
  let found = false;
  for (const family of families.values()) {
    for (const sample of family.samples) {
      if (sample.name !== name || !Object.entries(labels).every(([k, v]) => sample.labels[k] === v)) continue;
      total += sample.value;
      found = true;
    }
  }
  if (!found) throw new Error(`no sample ${name} ${JSON.stringify(labels)}`);
  return total;
}
