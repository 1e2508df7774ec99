from __future__ import annotations

from kruimel.cli import main

raise SystemExit(main())
