from eks_tfup.cli import main

main()
