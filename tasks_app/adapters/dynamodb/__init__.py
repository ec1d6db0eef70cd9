"""The single DynamoDB table, through PynamoDB."""
