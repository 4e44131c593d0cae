#compdef crm

_crm_completion() {
  eval $(env _TYPER_COMPLETE_ARGS="${words[1,$CURRENT]}" _CRM_COMPLETE=complete_zsh crm)
}

compdef _crm_completion crm
