module ignite

go 1.19
