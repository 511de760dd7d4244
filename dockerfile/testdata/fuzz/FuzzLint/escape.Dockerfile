go test fuzz v1
[]byte("# escape=`\nFROM `\n  mcr.microsoft.com/windows/servercore:ltsc2022 AS win\nRUN --mount=type=bind,from=ubunto:20.04,target=/u dir\n")
