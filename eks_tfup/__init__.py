"""eks-tfup: upgrade a Terraform-managed Amazon EKS cluster one Kubernetes minor at a time."""

__version__ = "0.1.0"
