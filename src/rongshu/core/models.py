"""Every table of the metadata database, imported in one place for Alembic and tests.

Each area's ``models`` module is listed here once; the import is what registers its tables.
"""

from rongshu.catalog import models as catalog_models
from rongshu.core.audit import models as audit_models
from rongshu.core.db import Base
from rongshu.core.identity import models as identity_models
from rongshu.exchange import models as exchange_models
from rongshu.ingest import models as ingest_models
from rongshu.opendata import models as opendata_models
from rongshu.quality import models as quality_models
from rongshu.security import models as security_models

metadata = Base.metadata

__all__ = [
    "audit_models",
    "catalog_models",
    "exchange_models",
    "identity_models",
    "ingest_models",
    "metadata",
    "opendata_models",
    "quality_models",
    "security_models",
]
