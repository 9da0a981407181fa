"""`python -m eks_tfup.sandbox.provider`: what the installed `terraform-provider-aws` runs."""

from eks_tfup.sandbox.provider.provider import serve

if __name__ == "__main__":
    serve()
