from tinyflash.cli.main import main

raise SystemExit(main())
