go test fuzz v1
[]byte("ARG A=${B:-x}\nFROM $A AS s\nCOPY --from=s / /\n")
