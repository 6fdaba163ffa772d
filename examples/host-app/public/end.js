// The host's end page: its own record, with the URLs its backend got from the verified webhook.
const id = document.body.dataset.id;
async function refresh() {
  const record = await (await fetch(`/interviews/${id}.json`)).json();
  document.getElementById('status').textContent = record.status;
  for (const kind of ['screenVideo', 'candidateVideo']) {
    const link = document.getElementById(kind);
    if (record[kind]) {
      link.href = record[kind];
      link.textContent = record[kind];
    }
  }
  if (!record.screenVideo) setTimeout(refresh, 1000);
}
void refresh();
