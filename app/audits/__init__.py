"""Internal audits: clause library, programme, audits, checklists, findings, report."""
