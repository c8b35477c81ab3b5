from kobling.cli import main

main()
