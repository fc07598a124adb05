module kube-traffic-harness.local/kind/kindnetd

go 1.26
