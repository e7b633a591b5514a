"""Operations workspace (运营工作台): goals, plans, content, campaigns, outreach, loyalty, referral, feedback."""
