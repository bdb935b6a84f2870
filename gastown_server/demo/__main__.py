import sys

if "--ledger" in sys.argv[1:]:
    from .ledger import main

    sys.exit(main([a for a in sys.argv[1:] if a != "--ledger"]))
from .town import main

sys.exit(main())
