"""Imports every model module, so the metadata (migrations, tests) sees all tables."""

from app.audit_trail import models as audit_trail_models  # noqa: F401
from app.audits import models as audits_models  # noqa: F401
from app.auth import models as auth_models  # noqa: F401
from app.capa import models as capa_models  # noqa: F401
from app.complaints import models as complaints_models  # noqa: F401
from app.distribution import models as distribution_models  # noqa: F401
from app.documents import models as document_models  # noqa: F401
from app.external import models as external_models  # noqa: F401
from app.kpis import models as kpi_models  # noqa: F401
from app.notifications import models as notification_models  # noqa: F401
from app.people import models as people_models  # noqa: F401
from app.records import models as records_models  # noqa: F401
from app.retention import models as retention_models  # noqa: F401
from app.risks import models as risk_models  # noqa: F401
from app.search import models as search_models  # noqa: F401
from app.sequences import NumberSequence  # noqa: F401
from app.signatures import models as signature_models  # noqa: F401
from app.storage import StoredBlob  # noqa: F401
