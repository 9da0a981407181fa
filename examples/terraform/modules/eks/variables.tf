# Inputs named after terraform-aws-modules/eks (v20): `cluster_name`, `cluster_version`.

variable "cluster_name" {
  type = string
}

variable "cluster_version" {
  description = "Kubernetes <major>.<minor> version of the cluster, e.g. \"1.28\"."
  type        = string
}

variable "cluster_role_arn" {
  type = string
}

variable "node_role_arn" {
  type = string
}

variable "subnet_ids" {
  type = list(string)
}

variable "node_groups" {
  description = "Managed node groups; each follows the cluster version."
  type = map(object({
    instance_types = list(string)
    desired_size   = number
    min_size       = number
    max_size       = number
    labels         = map(string)
  }))
}

variable "cluster_addons" {
  description = "EKS add-ons kept at the most recent version compatible with the cluster version."
  type        = list(string)
  default     = ["vpc-cni", "coredns", "kube-proxy"]
}

variable "tags" {
  type    = map(string)
  default = {}
}
