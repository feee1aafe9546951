from tapps_lsp.cli import main

raise SystemExit(main())
