variable "region" {
  description = "AWS region of the cluster."
  type        = string
  default     = "us-east-1"
}

variable "cluster_name" {
  description = "Name of the EKS cluster."
  type        = string
  default     = "demo"
}

variable "cluster_version" {
  description = "Kubernetes minor version of the control plane; node groups and add-ons follow it."
  type        = string
}

variable "subnet_ids" {
  description = "Private subnets for the control plane ENIs and the nodes (at least two AZs)."
  type        = list(string)
  default = [
    "subnet-0a1b2c3d4e5f60101",
    "subnet-0a1b2c3d4e5f60102",
    "subnet-0a1b2c3d4e5f60103",
  ]
}

variable "cluster_role_arn" {
  description = "IAM role assumed by the EKS control plane."
  type        = string
  default     = "arn:aws:iam::111122223333:role/demo-cluster-role"
}

variable "node_role_arn" {
  description = "IAM role of the managed node groups' instances."
  type        = string
  default     = "arn:aws:iam::111122223333:role/demo-node-role"
}
