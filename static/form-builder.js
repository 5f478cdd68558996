// The record plan's form builder: rows of fields kept in step with the form's JSON.
(function () {
  const table = document.getElementById('form-builder');
  if (!table) return;
  const translated = JSON.parse(table.dataset.types);
  const text = JSON.parse(table.dataset.text);
  const body = table.querySelector('tbody');
  const json = document.getElementById('fields_json');
  const esc = (s) => String(s).replace(/[&<>"]/g, (c) => ({'&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;'}[c]));
  function row(f) {
    const tr = document.createElement('tr');
    const opts = Object.keys(translated).map(t => `<option value="${t}"${t === f.type ? ' selected' : ''}>${esc(translated[t])}</option>`).join('');
    const extra = f.type === 'table' ? JSON.stringify(f.columns || []) : (f.choices || []).join('\n');
    tr.innerHTML = `<td><input class="form-control form-control-sm" data-k="name" aria-label="${esc(text.name)}"></td>
      <td><input class="form-control form-control-sm" data-k="label" aria-label="${esc(text.label)}"></td>
      <td><select class="form-select form-select-sm" data-k="type" aria-label="${esc(text.type)}">${opts}</select></td>
      <td class="text-center"><input class="form-check-input" type="checkbox" data-k="required" aria-label="${esc(text.required)}"></td>
      <td><textarea class="form-control form-control-sm" rows="1" data-k="extra" aria-label="${esc(text.extra)}"></textarea></td>
      <td class="text-nowrap"><button type="button" class="btn btn-sm btn-link" data-a="up" aria-label="${esc(text.up)}">↑</button><button type="button" class="btn btn-sm btn-link text-danger" data-a="remove" aria-label="${esc(text.remove)}">✕</button></td>`;
    tr.querySelector('[data-k=name]').value = f.name || '';
    tr.querySelector('[data-k=label]').value = f.label || '';
    tr.querySelector('[data-k=required]').checked = !!f.required;
    tr.querySelector('[data-k=extra]').value = extra;
    tr.dataset.min = f.min ?? ''; tr.dataset.max = f.max ?? ''; tr.dataset.help = f.help || '';
    return tr;
  }
  function collect() {
    return Array.from(body.rows).map(tr => {
      const f = {
        name: tr.querySelector('[data-k=name]').value.trim(),
        label: tr.querySelector('[data-k=label]').value.trim(),
        type: tr.querySelector('[data-k=type]').value,
        required: tr.querySelector('[data-k=required]').checked,
      };
      const extra = tr.querySelector('[data-k=extra]').value.trim();
      if (f.type === 'choice' || f.type === 'multi_choice') f.choices = extra.split('\n').map(s => s.trim()).filter(Boolean);
      if (f.type === 'table') { try { f.columns = JSON.parse(extra || '[]'); } catch (e) { f.columns = extra; } }
      if (f.type === 'number') { if (tr.dataset.min !== '') f.min = Number(tr.dataset.min); if (tr.dataset.max !== '') f.max = Number(tr.dataset.max); }
      if (tr.dataset.help) f.help = tr.dataset.help;
      return f;
    });
  }
  function load() {
    body.innerHTML = '';
    let fields = [];
    try { fields = JSON.parse(json.value || '[]'); } catch (e) { return; }
    fields.forEach(f => body.appendChild(row(f)));
  }
  body.addEventListener('input', () => { json.value = JSON.stringify(collect()); });
  body.addEventListener('change', () => { json.value = JSON.stringify(collect()); });
  body.addEventListener('click', (ev) => {
    const a = ev.target.dataset.a; if (!a) return;
    const tr = ev.target.closest('tr');
    if (a === 'remove') tr.remove();
    if (a === 'up' && tr.previousElementSibling) body.insertBefore(tr, tr.previousElementSibling);
    json.value = JSON.stringify(collect());
  });
  document.getElementById('add-field').addEventListener('click', () => {
    body.appendChild(row({type: 'text'})); json.value = JSON.stringify(collect());
    body.lastElementChild.querySelector('[data-k=name]').focus();
  });
  json.addEventListener('change', load);
  load();
})();
