import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * Process-wide metrics: Node's defaults and the counters the service's parts increment as things
 * happen. Counted since the process started (a test process running several services adds them up;
 * compare differences). Names and labels follow Prometheus conventions; no interview ids as labels.
 */
export const processRegistry = new Registry();
collectDefaultMetrics({ register: processRegistry });

const registers = [processRegistry];

export const recorderRestarts = new Counter({
  name: 'interview_ingest_recorder_restarts_total',
  help: 'ffmpeg recorder processes that died during a recording and were restarted into a new segment',
  registers,
});

export const recordingGaps = new Counter({
  name: 'interview_ingest_recording_gaps_total',
  help: 'Stretches missing from recordings, by cause',
  labelNames: ['cause'] as const,
  registers,
});

export const recordedBytes = new Counter({
  name: 'interview_ingest_recorded_bytes_total',
  help: 'Bytes of finished recordings delivered to the object store',
  registers,
});

export const uploadParts = new Counter({
  name: 'interview_ingest_upload_parts_total',
  help: 'Multipart upload parts stored, by upload strategy',
  labelNames: ['strategy'] as const,
  registers,
});

export const uploadRetries = new Counter({
  name: 'interview_ingest_upload_retries_total',
  help: 'Upload attempts that failed transiently and were retried',
  registers,
});

export const uploadFailures = new Counter({
  name: 'interview_ingest_upload_failures_total',
  help: 'Interviews whose delivery failed (marked failed with a reason; a retry that fails again is not counted again)',
  registers,
});

export const endToUrls = new Histogram({
  name: 'interview_ingest_end_to_urls_seconds',
  help: 'From an interview ending (completedAt) to both recording URLs being stored',
  buckets: [0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 900],
  registers,
});

export const webhookDeliveries = new Counter({
  name: 'interview_ingest_webhook_deliveries_total',
  help: 'Webhook delivery attempts, by outcome (delivered, retry, gave_up)',
  labelNames: ['outcome'] as const,
  registers,
});

export const journalShipments = new Counter({
  name: 'interview_ingest_journal_objects_total',
  help: 'Objects written to the recording journal (RECORDING_JOURNAL_SECONDS): one per file per shipment',
  registers,
});

export const journalBytes = new Counter({
  name: 'interview_ingest_journal_bytes_total',
  help: 'Bytes written to the recording journal',
  registers,
});
