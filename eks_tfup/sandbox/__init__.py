"""A local, faithful stand-in for EKS/EC2/STS, the Kubernetes API and the Terraform AWS provider.

Product code never imports this package: it reaches the sandbox only through ordinary endpoint
configuration (AWS_ENDPOINT_URL, a kubeconfig, TF_CLI_CONFIG_FILE). Only the `sandbox` CLI
command starts it.
"""
